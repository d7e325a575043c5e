import { execFile, spawnSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { brokerUp } from '../kit/brokers.js';
import { ndjson as lines } from '../kit/ndjson.js';
import { expectRequestTiming } from '../kit/request-timing.js';
import { killSurvivors, runCli, startCli } from '../kit/spawn-cli.js';

/**
 * `mqtt reply` against `mqtt request` (and the C client mosquitto_rr) on the machine's Mosquitto
 * (127.0.0.1:1883); topics under this run's prefix (non-retained, nothing to clean up on the broker).
 */
const PREFIX = `cc-test/${process.pid}-${Date.now().toString(36)}/rr`;
const topic = (what: string) => `${PREFIX}/${what}`;
const SLOW = 90_000;

const up = await brokerUp('Mosquitto');

afterEach(() => killSurvivors());

/** Start `mqtt reply` and wait until it is subscribed (it says so on stderr). */
async function responder(args: string[]) {
  const proc = startCli(['mqtt', 'reply', ...args]);
  await proc.waitFor(/replying on/, 'stderr', 30_000);
  return proc;
}

describe.skipIf(!up)('mqtt reply (Mosquitto)', () => {
  it(
    'request timing: 0 <= connect <= firstByte <= total; an answer delayed 300ms gives firstByte >= 298',
    async () => {
      const D = 300;
      for (const [what, extra] of [
        ['at-once', []],
        ['delayed', ['--delay', `${D}ms`]],
      ] as const) {
        const t = topic(`timing-${what}`);
        const rep = await responder([t, '--count', '1', ...extra]);
        const r = await runCli(['mqtt', 'request', t, 'p', '--json', '--timeout', '10s']);
        expect(r.code, r.stderr).toBe(0);
        expectRequestTiming(r.stdout, what === 'delayed' ? D : undefined);
        expect((await rep.exited).code).toBe(0);
      }
    },
    SLOW,
  );

  it(
    'echoes payload and user properties with the correlation data; prints each request; --count ends it',
    async () => {
      const t = topic('echo');
      const rep = await responder([t, '--count', '2', '--json', '-v', '-H', 'responder: comms-cli']);
      const r = await runCli([
        'mqtt',
        'request',
        t,
        '{"q":1}',
        '-H',
        'trace: t-1',
        '--json',
        '--timeout',
        '10s',
      ]);
      expect(r.code, r.stderr).toBe(0);
      expect(lines(r.stdout)[0]).toMatchObject({
        transport: 'mqtt',
        operation: 'request',
        ok: true,
        status: 'reply',
        data: { q: 1 },
        headers: { trace: 't-1', responder: 'comms-cli' },
      });
      const second = await runCli(['mqtt', 'request', t, 'two', '--qos', '1', '--timeout', '10s']);
      expect(second.code, second.stderr).toBe(0);
      expect(second.stdout).toBe('two\n');
      const done = await rep.exited;
      expect(done.code).toBe(0);
      const got = lines(rep.stdout());
      expect(got.map((m) => m.data)).toEqual([{ q: 1 }, 'two']);
      expect(got[0]).toMatchObject({
        type: 'message',
        transport: 'mqtt',
        topic: t,
        headers: { trace: 't-1' },
      });
      expect(rep.stderr()).toContain('2 requests, 2 answered, 0 dropped');
    },
    SLOW,
  );

  it(
    '--fail-first 1 drops the first request: the requester retries and gets the answer; load mode through it',
    async () => {
      const t = topic('flaky');
      await responder([t, '--fail-first', '1', '--body', 'fixed']);
      const r = await runCli([
        'mqtt',
        'request',
        t,
        'x',
        '--timeout',
        '3s',
        '--retries',
        '3',
        '--backoff',
        '10ms',
        '--json',
      ]);
      expect(r.code, r.stderr).toBe(0);
      const [result] = lines<{ data: string; attempts: Array<{ ok: boolean }> }>(r.stdout);
      expect(result?.data).toBe('fixed');
      // The first request is dropped; a loaded machine may time out another, so only the ends are fixed.
      expect(result?.attempts[0]?.ok).toBe(false);
      expect(result?.attempts.at(-1)?.ok).toBe(true);
      const load = await runCli(['mqtt', 'request', t, 'n{{seq}}', '-n', '20', '-c', '4', '--json']);
      expect(load.code, load.stderr).toBe(0);
      expect(lines(load.stdout).at(-1)).toMatchObject({ type: 'summary', requests: 20, errors: 0 });
    },
    SLOW,
  );

  it(
    '--exec answers with its stdout; a failing command is a service error (requester exit 1)',
    async () => {
      const ok = topic('exec-ok');
      await responder([ok, '--exec', 'tr a-z A-Z; printf " $MQTT_TOPIC"']);
      const r = await runCli(['mqtt', 'request', ok, 'shout', '--timeout', '10s']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toBe(`SHOUT ${ok}\n`);

      const bad = topic('exec-bad');
      await responder([bad, '--exec', 'echo broken >&2; exit 3']);
      const f = await runCli(['mqtt', 'request', bad, 'x', '--timeout', '10s', '--json']);
      expect(f.code).toBe(1);
      expect(lines(f.stdout)[0]).toMatchObject({
        ok: false,
        status: 'service error 500',
        error: { kind: 'response', code: 'COMMS_ERR_MQTT_SERVICE' },
      });
    },
    SLOW,
  );

  const hasRr = spawnSync('mosquitto_rr', ['--help']).error === undefined;
  it.skipIf(!hasRr)(
    'answers a request from the C client mosquitto_rr (MQTT 5 response topic + correlation data)',
    async () => {
      const t = topic('c-client');
      const rep = await responder([t, '--count', '1']);
      const answer = await new Promise<string>((resolve, reject) =>
        execFile(
          'mosquitto_rr',
          ['-h', '127.0.0.1', '-t', t, '-e', `${t}/response`, '-m', 'from-c', '-W', '15', '-q', '1'],
          (err, stdout) => (err ? reject(err) : resolve(stdout)),
        ),
      );
      expect(answer).toBe('from-c\n');
      expect((await rep.exited).code).toBe(0);
    },
    SLOW,
  );
  if (!hasRr) console.warn('mosquitto_rr not installed: MQTT reply interop test skipped');

  it.each([
    [['a/#/b'], /invalid topic filter/],
    [['a/b', '--qos', '3'], /--qos/],
    [['a/b', '--mqtt-version', '3.1.1'], /needs MQTT 5/],
    [['a/b', '--body', 'x', '--exec', 'cat'], /alternatives/],
    [['a/b', '--exec', ' '], /empty --exec/],
    [['a/b', '--fail-rate', '2'], /--fail-rate/],
    [['a/b', '--url', 'http://127.0.0.1:1883'], /unsupported scheme/],
  ])('mqtt reply %j → exit 2, one error line', async (args, re) => {
    const r = await runCli(['mqtt', 'reply', ...(args as string[])]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(re as RegExp);
    expect(r.stderr.split('\n').filter((l) => l.startsWith('error:'))).toHaveLength(1);
  });

  it('an unreachable broker is exit 3', async () => {
    const r = await runCli(['mqtt', 'reply', 'a/b', '--url', 'mqtt://127.0.0.1:1']);
    expect(r.code).toBe(3);
  });
});
