import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type NatsServer, startNatsServer } from '../kit/nats-server.js';
import { ndjson } from '../kit/ndjson.js';
import { killSurvivors, runCli, startCli } from '../kit/spawn-cli.js';

let server: NatsServer;
const s = () => ['-s', server.url];

beforeAll(async () => {
  server = await startNatsServer({ jetstream: true });
});
afterEach(() => killSurvivors());
afterAll(async () => {
  await server?.stop();
});

const lines = (text: string) => text.split('\n').filter(Boolean);

describe('JetStream publish', () => {
  it('--stream creates the stream, the ack prints stream and sequence', async () => {
    const r = await runCli([
      'nats',
      'publish',
      'orders.created',
      '{"id":1}',
      '--jetstream',
      '--stream',
      'ORDERS',
      ...s(),
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('stream ORDERS seq 1\n');
    expect(r.stderr).toMatch(/created stream ORDERS over 'orders\.created'/);
    const again = await runCli([
      'publish',
      'orders.created',
      '{"id":2}',
      '--jetstream',
      '--stream',
      'ORDERS',
      '--json',
      ...s(),
    ]);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({
      ok: true,
      status: 'stored',
      stream: 'ORDERS',
      seq: 2,
      duplicate: false,
    });
    expect(again.stderr).not.toMatch(/created stream/);
  });

  it('the same --msg-id is stored once: the second publish is acknowledged as a duplicate', async () => {
    const args = [
      'publish',
      'pay.done',
      'charge 42',
      '--jetstream',
      '--stream',
      'PAY',
      '--msg-id',
      'charge-42',
      ...s(),
    ];
    const first = await runCli(args);
    const second = await runCli([...args, '--json']);
    expect(first.code).toBe(0);
    expect(first.stdout).toBe('stream PAY seq 1\n');
    expect(second.code).toBe(0);
    expect(JSON.parse(second.stdout)).toMatchObject({
      status: 'duplicate',
      duplicate: true,
      seq: 1,
      msgId: 'charge-42',
    });
    await runCli(['publish', 'pay.done', 'marker', '--jetstream', ...s()]);
    const read = await runCli([
      'subscribe',
      'pay.done',
      '--jetstream',
      '--stream',
      'PAY',
      '--count',
      '2',
      '--json',
      ...s(),
    ]);
    expect(read.code).toBe(0);
    expect(ndjson(read.stdout)).toMatchObject([
      { seq: 1, data: 'charge 42', headers: { 'Nats-Msg-Id': 'charge-42' } },
      { seq: 2, data: 'marker' },
    ]);
  });

  it('a publish without an ack is retried with the same Nats-Msg-Id', async () => {
    // A core subscriber that never acks stands in for a stream whose ack is lost: every attempt times out.
    const sniffer = startCli(['subscribe', 'lost.ack', '--count', '3', '--json', '-v', ...s()]);
    await sniffer.waitFor(/listening on/, 'stderr');
    const r = await runCli([
      'publish',
      'lost.ack',
      'x',
      '--jetstream',
      '--msg-id',
      'auto',
      '--timeout',
      '200ms',
      '--retries',
      '2',
      '--backoff',
      '10ms',
      '--json',
      ...s(),
    ]);
    expect(r.code).toBe(4);
    const result = JSON.parse(r.stdout);
    expect(result.attempts).toHaveLength(3);
    expect(result.attempts.every((a: { error?: { kind: string } }) => a.error?.kind === 'timeout')).toBe(
      true,
    );
    expect((await sniffer.exited).code).toBe(0);
    const ids = ndjson<{ headers: Record<string, string> }>(sniffer.stdout()).map(
      (l) => l.headers['Nats-Msg-Id'],
    );
    expect(ids).toHaveLength(3);
    expect(new Set(ids).size).toBe(1);
  });

  it('no stream for the subject: retried, then exit 3', async () => {
    const r = await runCli([
      'publish',
      'nostream.here',
      'x',
      '--jetstream',
      '--retries',
      '1',
      '--backoff',
      '10ms',
      ...s(),
    ]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/attempt 1\/2/);
    expect(r.stderr).toMatch(/no JetStream stream acknowledged 'nostream\.here'/);
    expect(r.stderr).toMatch(/--stream NAME creates one/);
  });

  it('--count with templates publishes each message and waits for each ack', async () => {
    const r = await runCli([
      'publish',
      'bulk.{{seq}}',
      'item {{seq}}',
      '--jetstream',
      '--stream',
      'BULK',
      '--count',
      '5',
      ...s(),
    ]);
    expect(r.code).toBe(0);
    expect(lines(r.stdout)).toEqual([1, 2, 3, 4, 5].map((n) => `stream BULK seq ${n}`));
    expect(r.stderr).toMatch(/created stream BULK over 'bulk\.\*'/);
    expect(r.stderr).toMatch(/stored 5 of 5 messages/);
  });
});

describe('JetStream subscribe', () => {
  beforeAll(async () => {
    const r = await runCli([
      'publish',
      'ev.{{seq}}',
      'e{{seq}}',
      '--jetstream',
      '--stream',
      'EVENTS',
      '--count',
      '5',
      ...s(),
    ]);
    expect(r.code).toBe(0);
  });

  it('ordered consumer: --deliver all, last, seq:N', async () => {
    const all = await runCli([
      'subscribe',
      'ev.>',
      '--jetstream',
      '--stream',
      'EVENTS',
      '--count',
      '5',
      '--raw',
      ...s(),
    ]);
    expect(all.code).toBe(0);
    expect(all.stdout).toBe('e1\ne2\ne3\ne4\ne5\n');
    const last = await runCli([
      'subscribe',
      'ev.>',
      '--jetstream',
      '--stream',
      'EVENTS',
      '--deliver',
      'last',
      '--count',
      '1',
      '--json',
      ...s(),
    ]);
    expect(JSON.parse(last.stdout)).toMatchObject({ subject: 'ev.5', stream: 'EVENTS', seq: 5, data: 'e5' });
    const from = await runCli([
      'subscribe',
      'ev.>',
      '--jetstream',
      '--stream',
      'EVENTS',
      '--deliver',
      'seq:4',
      '--count',
      '2',
      '--raw',
      ...s(),
    ]);
    expect(from.stdout).toBe('e4\ne5\n');
  });

  it('a durable resumes where it left off (--count)', async () => {
    const base = [
      'subscribe',
      'ev.>',
      '--jetstream',
      '--stream',
      'EVENTS',
      '--durable',
      'reader',
      '--raw',
      ...s(),
    ];
    const one = await runCli([...base, '--count', '3']);
    expect(one.code).toBe(0);
    expect(one.stdout).toBe('e1\ne2\ne3\n');
    expect(one.stderr).toMatch(/created durable consumer reader/);
    const two = await runCli([...base, '--count', '2']);
    expect(two.code).toBe(0);
    expect(two.stdout).toBe('e4\ne5\n');
    const none = await runCli([...base, '--count', '1', '--timeout', '300ms']);
    expect(none.code).toBe(4);
  });

  it('a durable killed mid-stream loses nothing and repeats at most the last message', async () => {
    const base = [
      'subscribe',
      'ev.>',
      '--jetstream',
      '--stream',
      'EVENTS',
      '--durable',
      'survivor',
      '--ack-wait',
      '1s',
      '--raw',
      ...s(),
    ];
    const first = startCli(base);
    await first.waitFor(/e3\n/);
    first.kill('SIGKILL');
    await first.exited;
    const seen = lines(first.stdout());
    const more = await runCli([
      'publish',
      'ev.{{seq}}',
      'late{{seq}}',
      '--jetstream',
      '--count',
      '3',
      ...s(),
    ]);
    expect(more.code).toBe(0);
    // Messages pulled by the killed process but never acknowledged come back after --ack-wait.
    const second = await runCli([...base, '--timeout', '5s']);
    expect(second.code).toBe(0);
    const again = lines(second.stdout);
    const expected = ['e1', 'e2', 'e3', 'e4', 'e5', 'late1', 'late2', 'late3'];
    expect(new Set([...seen, ...again]), JSON.stringify({ seen, again })).toEqual(new Set(expected));
    // Not asserted: no repeat inside the second run. With a 1 s --ack-wait, a loaded machine can ack a
    // message later than that, and JetStream then delivers it again (at least once, as designed: a
    // CI run saw e5 twice there). What the kill must not do is lose or repeat acknowledged messages.
    const repeated = [...new Set(again.filter((m) => seen.includes(m)))];
    expect(repeated.length).toBeLessThanOrEqual(1);
    if (repeated.length) expect(repeated[0]).toBe(seen.at(-1));
  });

  it('Ctrl-C: exit 130, summary on stderr, unprinted messages are not acknowledged', async () => {
    const base = [
      'subscribe',
      'ev.>',
      '--jetstream',
      '--stream',
      'EVENTS',
      '--durable',
      'ctrlc',
      '--raw',
      ...s(),
    ];
    const p = startCli([...base, '-v']);
    await p.waitFor(/listening on/, 'stderr');
    await p.waitFor(/e2\n/);
    p.kill('SIGINT');
    expect((await p.exited).code).toBe(130);
    expect(p.stderr()).toMatch(/ev\.>: \d+ messages in/);
    const printed = lines(p.stdout());
    const rest = await runCli([...base, '--timeout', '800ms']);
    const after = lines(rest.stdout);
    expect(new Set([...printed, ...after]).size).toBe(printed.length + after.length);
    expect(printed.length + after.length).toBe(8);
  });
});

describe('durable subscribe acknowledges only what stdout took', () => {
  it('SIGKILL while the reader is slow: a rerun delivers every message not yet printed', async () => {
    const total = 400;
    const pad = 'x'.repeat(1500);
    const pub = await runCli([
      'nats',
      'publish',
      'slow.{{seq}}',
      `m{{seq}} ${pad}`,
      '--jetstream',
      '--stream',
      'SLOW',
      '--count',
      String(total),
      ...s(),
    ]);
    expect(pub.code).toBe(0);
    const base = [
      'nats',
      'subscribe',
      'slow.>',
      '--jetstream',
      '--stream',
      'SLOW',
      '--durable',
      'slowreader',
      '--ack-wait',
      '1s',
      '--raw',
      ...s(),
    ];
    const ids = (text: string) =>
      text
        .split('\n')
        .filter((l) => l.startsWith('m'))
        .map((l) => l.split(' ')[0]);
    const first = startCli(base);
    await first.waitFor(/^m1 /);
    // A slow reader: stop reading, so stdout fills up while messages keep arriving.
    first.child.stdout?.pause();
    await sleep(700);
    first.kill('SIGKILL');
    first.child.stdout?.resume(); // what the pipe still holds was printed: collect it
    await first.exited;
    const seen = ids(first.stdout());
    expect(seen.length).toBeLessThan(total);
    const second = await runCli([...base, '--timeout', '4s']);
    expect(second.code).toBe(0);
    const union = new Set([...seen, ...ids(second.stdout)]);
    const missing = Array.from({ length: total }, (_, i) => `m${i + 1}`).filter((m) => !union.has(m));
    expect(missing).toEqual([]);
  });
});

describe('a durable made for other subjects', () => {
  it('is not silently reused: exit 2 naming its filter', async () => {
    const pub = await runCli([
      'nats',
      'publish',
      'dur.{{seq}}',
      'm{{seq}}',
      '--jetstream',
      '--stream',
      'DUR',
      '--count',
      '7',
      ...s(),
    ]);
    expect(pub.code).toBe(0);
    const js = ['--jetstream', '--stream', 'DUR', '--durable', 'aud2', '--raw', ...s()];
    const made = await runCli(['nats', 'subscribe', 'dur.5', ...js, '--count', '1']);
    expect(made.code).toBe(0);
    expect(made.stdout).toBe('m5\n');
    const other = await runCli(['nats', 'subscribe', 'dur.7', ...js, '--count', '1', '--timeout', '5s']);
    expect(other.code).toBe(2);
    expect(other.stdout).toBe('');
    expect(other.stderr).toMatch(/durable 'aud2' on stream DUR reads 'dur\.5', not 'dur\.7'/);
    expect(other.stderr).toMatch(/hint: .*choose another --durable name/);
    // The durable itself is untouched: its own subject still resumes (nothing new: exit 4).
    const same = await runCli(['nats', 'subscribe', 'dur.5', ...js, '--count', '1', '--timeout', '300ms']);
    expect(same.code).toBe(4);
  });
});

describe('a fixed --msg-id on many JetStream messages', () => {
  const js = ['--jetstream', '--stream', 'MSGID'];
  it('warns that all but the first are duplicates (and they are)', async () => {
    const r = await runCli([
      'nats',
      'publish',
      'msgid.{{seq}}',
      'x',
      ...js,
      ...s(),
      '--count',
      '3',
      '--msg-id',
      'same-id',
    ]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/warning: every message carries --msg-id 'same-id'/);
    expect(r.stdout.trim().split('\n')).toEqual([
      expect.stringMatching(/^stream MSGID seq \d+$/),
      expect.stringMatching(/duplicate$/),
      expect.stringMatching(/duplicate$/),
    ]);
  });

  it('no warning with a template, auto, or a single message', async () => {
    for (const extra of [
      ['--count', '2', '--msg-id', 'id-{{seq}}'],
      ['--count', '2', '--msg-id', 'auto'],
      ['--msg-id', 'one-id'],
    ]) {
      const r = await runCli(['nats', 'publish', 'msgid.{{seq}}', 'x', ...js, ...s(), ...extra]);
      expect(r.code).toBe(0);
      expect(r.stderr).not.toMatch(/warning/);
    }
  });
});

describe('JetStream subscribe without --stream (as the nats CLI)', () => {
  it('finds the stream that stores the subject; no stream for it is exit 3 naming the subject', async () => {
    const pub = await runCli(['publish', 'found.one', '{"n":1}', '--jetstream', '--stream', 'FOUND', ...s()]);
    expect(pub.code, pub.stderr).toBe(0);
    const sub = await runCli([
      'subscribe',
      'found.one',
      '--jetstream',
      '--count',
      '1',
      '--json',
      '-v',
      ...s(),
    ]);
    expect(sub.code, sub.stderr).toBe(0);
    expect(sub.stderr).toMatch(/listening on 'found\.one' \(stream FOUND\)/);
    expect(JSON.parse(sub.stdout.trim())).toMatchObject({ type: 'message', data: { n: 1 } });

    const none = await runCli(['subscribe', 'nowhere.stored', '--jetstream', '--timeout', '2s', ...s()]);
    expect(none.code).toBe(3);
    expect(none.stderr.split('\n')[0]).toMatch(/no single JetStream stream stores 'nowhere\.stored'/);
  });
});
