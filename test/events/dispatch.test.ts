import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type RunningHttpServer, startHttpServer } from '../../src/servers/http/server.js';
import { type NatsServer, startNatsServer } from '../kit/nats-server.js';
import { ndjson as lines } from '../kit/ndjson.js';
import { killSurvivors, runCli, startCli } from '../kit/spawn-cli.js';

/** `events dispatch` to HTTP and NATS handlers: retries, what counts as handled, handlers that are down. */
const SLOW = 90_000;

let tmp: string;
let nats: NatsServer;
let http: RunningHttpServer;
let seq = 0;

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'comms-events-dispatch-'));
  [nats, http] = await Promise.all([startNatsServer(), startHttpServer({ port: 0, host: '127.0.0.1' })]);
});
afterAll(async () => {
  killSurvivors();
  await Promise.all([nats?.stop(), http?.close()]);
  rmSync(tmp, { recursive: true, force: true });
});
// Only the NATS responder test starts a long-running process, and it is not concurrent.
afterEach(() => killSurvivors());

function dir(): string {
  seq += 1;
  return join(tmp, `store-${seq}`);
}

describe('dispatch to the shared HTTP and NATS transports', () => {
  it('HTTP: /flaky fails the first attempt (503), the retry succeeds; the event id is the Idempotency-Key', async () => {
    const store = ['--store', dir()];
    expect((await runCli(['events', 'append', 'h-1', 'Paid', '-d', '{"x":1}', ...store])).code).toBe(0);
    const r = await runCli([
      'events',
      'dispatch',
      '--to',
      `${http.url}/flaky/1?key=ev-${seq}&retry_after=0`,
      '--retries',
      '2',
      '--backoff',
      '5ms',
      '--json',
      ...store,
    ]);
    expect(r.code, r.stderr).toBe(0);
    const [delivery, summary] = lines<{
      attempts?: Array<{ status: number }>;
      outcome?: string;
      transport?: string;
      retried?: number;
      handled?: number;
      ms?: number;
      rate?: number;
    }>(r.stdout);
    expect(delivery).toMatchObject({ transport: 'http', outcome: 'handled', status: 200 });
    expect(delivery!.attempts!.map((a) => a.status)).toEqual([503, 200]);
    expect(summary).toMatchObject({ handled: 1, retried: 1 });
    // rate is handled / elapsed (rounded to 2 decimals).
    expect(summary!.rate).toBeCloseTo((1 / summary!.ms!) * 1000, 1);

    const echo = await runCli(['events', 'dispatch', '--to', `${http.url}/echo`, '--json', ...store]);
    const [d] = lines<{
      body: { method: string; headers: Record<string, string>; body: unknown };
      event: { id: string };
    }>(echo.stdout);
    expect(d!.body.method).toBe('POST');
    expect(d!.body.headers['idempotency-key']).toBe(d!.event.id);
  });

  it('HTTP: a handler that is down stops the run (exit 3); with --dead-letter-unreachable it is dead-lettered until the breaker opens (exit 5)', async () => {
    const store = ['--store', dir()];
    expect(
      (await runCli(['events', 'append', 'h-2', 'E', '--lines', ...store], { input: '1\n2\n3\n' })).code,
    ).toBe(0);
    const down = await runCli([
      'events',
      'dispatch',
      '--to',
      'http://127.0.0.1:1/hook',
      '--checkpoint',
      'h',
      '--breaker',
      '1',
      ...store,
    ]);
    expect(down.code).toBe(3);
    expect(down.stderr).toMatch(/stopped: unreachable/);
    // Nothing handled: no rate on the summary line (it was `(26.89/s)` for the one event that stopped).
    expect(down.stderr).toMatch(/^dispatch: 0 handled, 0 retried, 0 dead-lettered in \S+ · position 0 /m);
    expect(down.stderr).not.toMatch(/\/s\)/);
    expect(lines((await runCli(['events', 'dead-letters', '--json', ...store])).stdout)).toHaveLength(0);
    const r = await runCli([
      'events',
      'dispatch',
      '--to',
      'http://127.0.0.1:1/hook',
      '--checkpoint',
      'h',
      '--breaker',
      '1',
      '--dead-letter-unreachable',
      ...store,
    ]);
    expect(r.code).toBe(5);
    expect(r.stderr).toMatch(/connection refused/);
    expect(r.stderr).toMatch(/stopped: breaker/);
    const dl = await runCli(['events', 'dead-letters', '--json', ...store]);
    expect(lines(dl.stdout)).toHaveLength(1);
    const redrive = await runCli([
      'events',
      'dispatch',
      '--to',
      `${http.url}/echo`,
      '--checkpoint',
      'h',
      '--retry-dead-letters',
      ...store,
    ]);
    expect(redrive.code, redrive.stderr).toBe(0);
    expect(redrive.stderr).toMatch(/1 handled/);
  });

  it('NATS: a responder that drops the first request is retried; a reply means handled', async () => {
    const store = ['--store', nats.url, '--stream', `NH_${++seq}`];
    expect(
      (await runCli(['events', 'append', 'n-1', 'E', '--lines', ...store], { input: '{"a":1}\n{"a":2}\n' }))
        .code,
    ).toBe(0);
    const responder = startCli(['nats', 'reply', `handle.${seq}`, '--fail-first', '1', '-s', nats.url]);
    await responder.waitFor(/./, 'stderr', 20_000);
    const r = await runCli([
      'events',
      'dispatch',
      '--to',
      `nats:handle.${seq}`,
      '--retries',
      '3',
      '--timeout',
      '1s',
      '--backoff',
      '10ms',
      '--json',
      ...store,
    ]);
    expect(r.code, r.stderr).toBe(0);
    const out = lines<{ transport?: string; outcome?: string; handled?: number; retried?: number }>(r.stdout);
    expect(out.slice(0, -1).map((x) => [x.transport, x.outcome])).toEqual([
      ['nats', 'handled'],
      ['nats', 'handled'],
    ]);
    expect(out.at(-1)).toMatchObject({ handled: 2, retried: 1 });
  });
});

describe('HTTP handlers: only 2xx is handled', () => {
  it.concurrent(
    'a 3xx answer is dead-lettered (exit 1) and a 2xx is handled',
    async () => {
      const store = ['--store', join(tmp, `store-${++seq}`)];
      expect((await runCli(['events', 'append', 'h-1', 'E', ...store])).code).toBe(0);
      const moved = await runCli([
        'events',
        'dispatch',
        '--to',
        `${http.url}/status/302`,
        '--checkpoint',
        'redir',
        '--json',
        ...store,
      ]);
      expect(moved.code, moved.stderr).toBe(1);
      const out = lines(moved.stdout);
      expect(out[0]).toMatchObject({
        outcome: 'dead-lettered',
        status: 302,
        error: { message: expect.stringMatching(/expected status 2xx, got 302/) },
      });
      expect(out.at(-1)).toMatchObject({ type: 'summary', handled: 0, deadLettered: 1, position: 1 });

      const ok = await runCli(['events', 'dispatch', '--to', `${http.url}/status/204`, ...store]);
      expect(ok.code, ok.stderr).toBe(0);
      expect(ok.stderr).toMatch(/dispatch: 1 handled/);
    },
    SLOW,
  );
});

describe('a handler that is down (no --breaker)', () => {
  it.concurrent(
    'stops the dispatch with exit 3, parks nothing, keeps the checkpoint before the event; a re-run delivers everything',
    async () => {
      const store = ['--store', join(tmp, `store-${++seq}`)];
      const add = await runCli(['events', 'append', 'd-1', 'E', '--lines', ...store], { input: '1\n2\n3\n' });
      expect(add.code, add.stderr).toBe(0);
      const down = await runCli([
        'events',
        'dispatch',
        '--to',
        'http://127.0.0.1:1/hook',
        '--checkpoint',
        'down',
        '--retries',
        '1',
        '--backoff',
        '1ms',
        '--json',
        ...store,
      ]);
      expect(down.code, down.stderr).toBe(3);
      const out = lines(down.stdout);
      expect(out).toHaveLength(2);
      expect(out[0]).toMatchObject({ outcome: 'stopped', error: { kind: 'connect' } });
      expect(out[1]).toMatchObject({
        type: 'summary',
        events: 1,
        handled: 0,
        rate: 0,
        deadLettered: 0,
        stopped: 'unreachable',
        position: 0,
        exit: 3,
      });
      const dl = await runCli(['events', 'dead-letters', '--json', ...store]);
      expect(dl.code, dl.stderr).toBe(0);
      expect(dl.stdout).toBe('');

      // nats: handlers too: no responders is a handler that is down.
      const nobody = await runCli([
        'events',
        'dispatch',
        '--to',
        'nats:nobody.home',
        '-s',
        nats.url,
        '--checkpoint',
        'down',
        ...store,
      ]);
      expect(nobody.code).toBe(3);
      expect(nobody.stderr).toMatch(/no responders/);
      expect(nobody.stderr).toMatch(/stopped: unreachable/);

      const up = await runCli([
        'events',
        'dispatch',
        '--to',
        'exec:cat >/dev/null',
        '--checkpoint',
        'down',
        ...store,
      ]);
      expect(up.code, up.stderr).toBe(0);
      expect(up.stderr).toMatch(/dispatch: 3 handled.*position 3/);
    },
    SLOW,
  );

  it.concurrent(
    'with --dead-letter-unreachable parks each event (exit 1) and moves on',
    async () => {
      const store = ['--store', join(tmp, `store-${++seq}`)];
      const add = await runCli(['events', 'append', 'd-2', 'E', '--lines', ...store], { input: '1\n2\n' });
      expect(add.code, add.stderr).toBe(0);
      const r = await runCli([
        'events',
        'dispatch',
        '--to',
        'http://127.0.0.1:1/hook',
        '--checkpoint',
        'park',
        '--dead-letter-unreachable',
        ...store,
      ]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/0 handled, 0 retried, 2 dead-lettered.*position 2/);
      expect(lines((await runCli(['events', 'dead-letters', '--json', ...store])).stdout)).toHaveLength(2);
    },
    SLOW,
  );
});
