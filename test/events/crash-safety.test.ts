import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type RunningHttpServer, startHttpServer } from '../../src/servers/http/server.js';
import { type NatsServer, startNatsServer } from '../kit/nats-server.js';
import { killSurvivors, runCli, startCli } from '../kit/spawn-cli.js';

/** Crash safety (SIGKILL), bad inputs, and dispatch to the real HTTP and NATS handlers. */
let tmp: string;
let nats: NatsServer;
let http: RunningHttpServer;
let seq = 0;

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'comms-events-faults-'));
  [nats, http] = await Promise.all([startNatsServer(), startHttpServer({ port: 0, host: '127.0.0.1' })]);
});
afterAll(async () => {
  killSurvivors();
  await Promise.all([nats?.stop(), http?.close()]);
  rmSync(tmp, { recursive: true, force: true });
});
afterEach(() => killSurvivors());

function dir(): string {
  seq += 1;
  return join(tmp, `store-${seq}`);
}

function lines<T = Record<string, unknown>>(text: string): T[] {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as T);
}

describe('crash safety', () => {
  it('SIGKILL in the middle of appends (embedded): every acknowledged event survives, a torn line is dropped', async () => {
    const store = dir();
    const writer = startCli(['events', 'append', 'crash-1', 'Tick', '--lines', '--json', '--store', store]);
    let i = 0;
    const feed = setInterval(() => {
      for (let k = 0; k < 5; k++) writer.child.stdin?.write(`{"i":${++i}}\n`);
    }, 5);
    try {
      await writer.waitFor(/("version":25)/, 'stdout', 30_000);
    } finally {
      clearInterval(feed);
    }
    writer.kill('SIGKILL');
    await writer.exited;
    const acked = lines<{ event: { id: string; version: number } }>(
      writer
        .stdout()
        .split('\n')
        .filter((l) => l.endsWith('}'))
        .join('\n'),
    );
    // A crash in the middle of a write: half a line at the end of the log.
    appendFileSync(join(store, 'events.jsonl'), '{"id":"torn","aggregate":"crash-1","ty');

    const read = await runCli(['events', 'read', 'crash-1', '--json', '--store', store]);
    expect(read.code, read.stderr).toBe(0);
    const history = lines<{ id: string; version: number }>(read.stdout);
    const ids = new Set(history.map((e) => e.id));
    for (const a of acked) expect(ids.has(a.event.id)).toBe(true);
    expect(history.map((e) => e.version)).toEqual(history.map((_, k) => k + 1));
    expect(ids.has('torn')).toBe(false);

    // The next writer repairs the tail and continues the sequence.
    const next = await runCli([
      'events',
      'append',
      'crash-1',
      'After',
      '--expected-version',
      String(history.length),
      '--json',
      '--store',
      store,
    ]);
    expect(next.code, next.stderr).toBe(0);
    expect(lines<{ event: { version: number } }>(next.stdout)[0]!.event.version).toBe(history.length + 1);
    const log = readFileSync(join(store, 'events.jsonl'), 'utf8');
    expect(log.endsWith('\n')).toBe(true);
    expect(log).not.toMatch(/torn/);
  });

  it('a stale lock left by a killed appender is broken (embedded)', async () => {
    const store = dir();
    expect((await runCli(['events', 'append', 'lock-1', 'A', '--store', store])).code).toBe(0);
    writeFileSync(join(store, 'events.lock'), '999999\n'); // a pid that does not exist
    const r = await runCli(['events', 'append', 'lock-1', 'B', '--expected-version', '1', '--store', store]);
    expect(r.code, r.stderr).toBe(0);
  });

  it.each(['embedded', 'jetstream'] as const)(
    'SIGKILL while dispatching (%s): the checkpoint resumes, no event is skipped',
    async (kind) => {
      const store =
        kind === 'embedded' ? ['--store', dir()] : ['--store', nats.url, '--stream', `CRASH_${++seq}`];
      const input = Array.from({ length: 8 }, (_, k) => `{"k":${k + 1}}`).join('\n');
      expect((await runCli(['events', 'append', 'd-1', 'E', '--lines', ...store], { input })).code).toBe(0);
      const seen = join(tmp, `seen-${seq}-${kind}.txt`);
      writeFileSync(seen, '');
      const handler = `exec:echo $COMMS_EVENT_VERSION >> ${seen}; sleep 0.2`;
      const first = startCli([
        'events',
        'dispatch',
        '--to',
        handler,
        '--checkpoint',
        'crashy',
        '-v',
        ...store,
      ]);
      await first.waitFor(/#3 d-1@v3 E handled/, 'stderr', 30_000);
      first.kill('SIGKILL');
      await first.exited;
      const second = await runCli([
        'events',
        'dispatch',
        '--to',
        handler,
        '--checkpoint',
        'crashy',
        '--json',
        ...store,
      ]);
      expect(second.code, second.stderr).toBe(0);
      const versions = readFileSync(seen, 'utf8').trim().split('\n').map(Number);
      // At-least-once: every event handled, in order; only the one in flight at the kill may repeat.
      expect([...new Set(versions)]).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
      expect(versions.length - 8).toBeLessThanOrEqual(1);
      for (let k = 1; k < versions.length; k++) expect(versions[k]!).toBeGreaterThanOrEqual(versions[k - 1]!);
    },
  );
});

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
    }>(r.stdout);
    expect(delivery).toMatchObject({ transport: 'http', outcome: 'handled', status: 200 });
    expect(delivery!.attempts!.map((a) => a.status)).toEqual([503, 200]);
    expect(summary).toMatchObject({ handled: 1, retried: 1 });

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

describe('bad inputs', () => {
  it.each([
    [['events', 'append', 'a', 'T', '-d', '{nope'], /invalid JSON in -d/],
    [['events', 'append', '', 'T'], /aggregate must not be empty/],
    [['events', 'append', 'a', ' '], /event type must not be empty/],
    [['events', 'append', 'a b', 'T'], /invalid aggregate 'a b'/],
    [['events', 'append', 'a', 'T', '--expected-version', 'soon'], /invalid --expected-version 'soon'/],
    [['events', 'dispatch', '--to', 'ftp://x/y'], /unknown --to scheme 'ftp:'/],
    [['events', 'dispatch', '--to', 'nats:'], /invalid --to subject/],
    [['events', 'read'], /name an aggregate, or pass --all/],
    [['events', 'read', '--all', '--since', 'yesterday'], /invalid --since 'yesterday'/],
  ])('%j exits 2 and writes nothing', async (args, message) => {
    const store = dir();
    const r = await runCli([...args, '--store', store]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stdout).toBe('');
  });

  it('an unusable store path exits 2', async () => {
    const file = join(tmp, 'a-file');
    writeFileSync(file, 'x');
    const r = await runCli(['events', 'stats', '--store', join(file, 'sub')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/cannot open event store .*: not a directory/);
  });

  it('an unreachable NATS store exits 3', async () => {
    const r = await runCli(['events', 'append', 'a', 'T', '--store', 'nats://127.0.0.1:1']);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/cannot reach event store nats:\/\/127.0.0.1:1: connection refused/);
  });

  it('the embedded store never loads NATS code', async () => {
    const trace = join(tmp, 'loads.txt');
    writeFileSync(trace, '');
    const r = await runCli(['events', 'append', 'lazy-1', 'T', '--store', dir()], {
      env: {
        NODE_OPTIONS: `--import=${new URL('../fixtures/trace-loads.mjs', import.meta.url).href}`,
        COMMS_TRACE_FILE: trace,
      },
    });
    expect(r.code, r.stderr).toBe(0);
    const loaded = readFileSync(trace, 'utf8');
    expect(loaded).toMatch(/file-store/); // the trace works
    expect(loaded).not.toMatch(/@nats-io|nkeys|jetstream-store|@grpc/);
  });
});
