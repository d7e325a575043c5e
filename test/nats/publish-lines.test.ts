import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { natsSubscriber } from '../kit/nats-cli.js';
import { type NatsServer, startNatsServer } from '../kit/nats-server.js';
import { killSurvivors, runCli, startCli } from '../kit/spawn-cli.js';

/** `nats publish --lines`: stdin lines streamed as messages, and how the stream ends. */
let server: NatsServer;
const s = () => ['-s', server.url];

beforeAll(async () => {
  server = await startNatsServer({ jetstream: false });
});
afterEach(() => killSurvivors());
afterAll(async () => {
  await server?.stop();
});

const subscriber = (args: string[]) => natsSubscriber(server.url, args);

describe('core publish --lines', () => {
  it('streams each line as it is written (the next line waits for the previous one to arrive)', async () => {
    const sub = await subscriber(['lines.stream', '--count', '3', '--raw']);
    const pub = startCli(['nats', 'publish', 'lines.stream', '--lines', '--json', ...s()]);
    pub.child.stdin?.write('one\n');
    await sub.waitFor(/^one\n/);
    pub.child.stdin?.write('two\n');
    await sub.waitFor(/two\n/);
    pub.child.stdin?.end('three\n');
    expect((await pub.exited).code).toBe(0);
    expect(JSON.parse(pub.stdout())).toMatchObject({ ok: true, count: 3, bytes: 11 });
    expect((await sub.exited).code).toBe(0);
    expect(sub.stdout()).toBe('one\ntwo\nthree\n');
  });

  it('stdin given at once: every line published, exit 0 at EOF (CRLF and a last line without newline too)', async () => {
    const sub = await subscriber(['lines.eof', '--count', '3', '--raw']);
    const r = await runCli(['nats', 'publish', 'lines.eof', '--lines', ...s()], { input: 'a\r\nb\nc' });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/published 3 messages to lines\.eof/);
    expect((await sub.exited).code).toBe(0);
    expect(sub.stdout()).toBe('a\nb\nc\n');
  });

  it('Ctrl-C while stdin is idle: exit 130, the lines already sent are reported and delivered', async () => {
    const sub = await subscriber(['lines.int', '--count', '2', '--raw']);
    const pub = startCli(['nats', 'publish', 'lines.int', '--lines', ...s()]);
    pub.child.stdin?.write('x1\nx2\n');
    await sub.waitFor(/x2\n/);
    pub.kill('SIGINT');
    const { code } = await pub.exited;
    expect(code).toBe(130);
    expect(pub.stderr()).toMatch(/published 2 messages to lines\.int, then stopped/);
    expect(pub.stderr()).toMatch(/interrupted.* after publishing 2 messages/);
    expect(pub.stderr()).not.toMatch(/publish to lines\.int failed/);
    expect((await sub.exited).code).toBe(0);
  });

  it('SIGTERM while stdin is idle, --json: exit 130 with the count sent', async () => {
    const sub = await subscriber(['lines.term', '--count', '1', '--raw']);
    const pub = startCli(['nats', 'publish', 'lines.term', '--lines', '--json', ...s()]);
    pub.child.stdin?.write('only\n');
    await sub.waitFor(/only\n/);
    pub.kill('SIGTERM');
    expect((await pub.exited).code).toBe(130);
    expect(JSON.parse(pub.stdout())).toMatchObject({
      ok: false,
      exit: 130,
      count: 1,
      error: { kind: 'interrupted' },
    });
  });
});
