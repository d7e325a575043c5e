import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { natsResponder, natsSubscriber } from '../kit/nats-cli.js';
import { type NatsServer, startNatsServer } from '../kit/nats-server.js';
import { killSurvivors, runCli } from '../kit/spawn-cli.js';

/*
 * The shared expectations on NATS: `request` takes --expect-json/-body/-header/-time over the reply
 * (its data and headers); `subscribe` takes --expect-count and --expect-message over the stream.
 */
let server: NatsServer;
const s = () => ['-s', server.url];

beforeAll(async () => {
  server = await startNatsServer({ jetstream: false });
});
afterEach(() => killSurvivors());
afterAll(async () => {
  await server?.stop();
});

describe('nats request expectations', () => {
  it('--expect-json, --expect-body and --expect-header over the reply; a miss is exit 1 naming it', async () => {
    const rep = await natsResponder(server.url, [
      'exp.order',
      '--body',
      '{"qty":3,"items":[{"sku":"A1"},{"sku":"B2"}],"id":9007199254740993}',
      '-H',
      'X-Trace: abc-1',
      '-H',
      'Authorization: Bearer s3cret',
    ]);
    const ok = await runCli([
      'request',
      'exp.order',
      '{}',
      '--expect-json',
      '$.qty>0',
      '--expect-json',
      '$.items.length>=2',
      '--expect-json',
      '$.items[1].sku=B2',
      '--expect-json',
      '$.id=9007199254740993',
      '--expect-body',
      '/"sku":"A1"/',
      '--expect-header',
      'x-trace: abc-1',
      ...s(),
    ]);
    expect(ok.stderr).toMatch(/reply from exp\.order/);
    expect(ok.code).toBe(0);

    const exact = await runCli(['request', 'exp.order', '--expect-json', '$.id=9007199254740992', ...s()]);
    expect(exact.code).toBe(1);
    expect(exact.stderr).toContain('expected $.id = 9007199254740992, got 9007199254740993');

    const count = await runCli([
      'request',
      'exp.order',
      '--expect-json',
      '$.items.length>2',
      '--json',
      ...s(),
    ]);
    expect(count.code).toBe(1);
    expect(JSON.parse(count.stdout)).toMatchObject({
      ok: false,
      exit: 1,
      error: { kind: 'expectation', message: 'expected $.items.length > 2, got 2' },
    });

    // A secret header's value never appears in the failure (unless --show-secrets).
    const secret = await runCli([
      'request',
      'exp.order',
      '--expect-header',
      'Authorization: Basic x',
      ...s(),
    ]);
    expect(secret.code).toBe(1);
    expect(secret.stderr).toContain('expected header Authorization matching "Basic x", got "[REDACTED]"');
    expect(secret.stderr).not.toContain('s3cret');
    rep.kill('SIGINT');
    await rep.exited;
  });

  it('a text reply: --expect-body holds, --expect-json says it is not JSON', async () => {
    const rep = await natsResponder(server.url, ['exp.text', '--body', 'plain words']);
    const ok = await runCli(['request', 'exp.text', '--expect-body', 'plain', ...s()]);
    expect(ok.code).toBe(0);
    const bad = await runCli(['request', 'exp.text', '--expect-json', '$.a=1', ...s()]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('expected JSON reply for $.a, got "plain words"');
    rep.kill('SIGINT');
    await rep.exited;
  });

  it('bad specs exit 2 before anything is sent', async () => {
    for (const [args, message] of [
      [['--expect-json', 'qty'], /invalid --expect-json 'qty'/],
      [['--expect-json', '$.qty>=lots'], /invalid --expect-json '\$\.qty>=lots': >= needs a number/],
      [['--expect-body', '/[/'], /invalid regular expression in --expect-body/],
      [['--replies', '2', '--expect-json', '$.a=1'], /do not combine with --replies/],
    ] as const) {
      const r = await runCli(['request', 'exp.none', ...args, '-s', 'nats://127.0.0.1:1']);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr.trim().split('\n')[0]).toMatch(message);
    }
  });
});

describe('nats subscribe --expect-count / --expect-message', () => {
  it('--expect-message stops at the first match (exit 0); a miss by the end (--count) is exit 1 naming it', async () => {
    const sub = await natsSubscriber(server.url, [
      'exp.ev.>',
      '--expect-message',
      '$.state=PAID',
      '--timeout',
      '20s',
    ]);
    await runCli(['publish', 'exp.ev.1', '{"state":"NEW"}', ...s()]);
    await runCli(['publish', 'exp.ev.2', '{"state":"PAID"}', ...s()]);
    const { code } = await sub.exited;
    expect(code, sub.stderr()).toBe(0);
    expect(sub.stdout()).toContain('PAID');

    const miss = await natsSubscriber(server.url, ['exp.miss', '--expect-message', '/PAID/', '--count', '2']);
    await runCli(['publish', 'exp.miss', 'NEW', '--count', '2', ...s()]);
    const missed = await miss.exited;
    expect(missed.code).toBe(1);
    expect(miss.stderr()).toContain("expected a message matching /PAID/, none of 2 did on 'exp.miss'");
  });

  it('--expect-count N with --timeout: exactly N in the window (exit 0), more fails at once (exit 1)', async () => {
    const sub = await natsSubscriber(server.url, ['exp.win', '--expect-count', '2', '--timeout', '5s']);
    await runCli(['publish', 'exp.win', 'x{{seq}}', '--count', '2', ...s()]);
    const held = await sub.exited;
    expect(held.code, sub.stderr()).toBe(0);

    const over = await natsSubscriber(server.url, ['exp.over', '--expect-count', '1', '--timeout', '20s']);
    await runCli(['publish', 'exp.over', 'x{{seq}}', '--count', '2', ...s()]);
    const failed = await over.exited;
    expect(failed.code).toBe(1);
    expect(over.stderr()).toMatch(/expected 1 message, got 2 \(or more\) on 'exp\.over'/);

    const none = await runCli([
      'subscribe',
      'exp.quiet',
      '--expect-count',
      '0',
      '--timeout',
      '300ms',
      ...s(),
    ]);
    expect(none.code).toBe(0);
    const few = await runCli(['subscribe', 'exp.quiet', '--expect-count', '1', '--timeout', '300ms', ...s()]);
    expect(few.code).toBe(1);
    expect(few.stderr).toContain("expected 1 message, got 0 on 'exp.quiet'");
  });

  it('bad --expect-count / --expect-message exit 2', async () => {
    const count = await runCli(['subscribe', 'x', '--expect-count', '-1', ...s()]);
    expect(count.code).toBe(2);
    const msg = await runCli(['subscribe', 'x', '--expect-message', '$.a[*]=1', ...s()]);
    expect(msg.code).toBe(2);
    expect(msg.stderr).toMatch(/invalid --expect-message/);
  });
});
