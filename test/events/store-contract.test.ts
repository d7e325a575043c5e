import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type NatsServer, startNatsServer } from '../kit/nats-server.js';
import { ndjson } from '../kit/ndjson.js';
import { killSurvivors, runCli, startCli } from '../kit/spawn-cli.js';

/**
 * The events contract, run against both stores: the embedded one (a temp dir per test) and JetStream
 * (a private nats-server 2.9+, a stream per test). Tests use their own store, so they run concurrently.
 */
type StoreKind = 'embedded' | 'jetstream';
/** Each test spawns the CLI 6-12 times; on a busy 2-core runner that can take a while. */
const SLOW = 90_000;
/** A read that hangs is killed here and shows up as exit code null. */
const HANG_GUARD = { timeoutMs: 20_000 };

let tmp: string;
let nats: NatsServer;
let seq = 0;

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'comms-events-'));
  nats = await startNatsServer();
});
afterAll(async () => {
  killSurvivors();
  await nats?.stop();
  rmSync(tmp, { recursive: true, force: true });
});
// No afterEach(killSurvivors): tests run concurrently, and it would kill another test's tail.

function newStore(kind: StoreKind): string[] {
  seq += 1;
  return kind === 'embedded'
    ? ['--store', join(tmp, `store-${seq}`)]
    : ['--store', nats.url, '--stream', `EV_${seq}`];
}

interface EventLine {
  id: string;
  aggregate: string;
  type: string;
  version: number;
  position: number;
  time: string;
  data: unknown;
  metadata: Record<string, string>;
}

const lines = <T = EventLine>(stdout: string): T[] => ndjson<T>(stdout);

describe.each<StoreKind>(['embedded', 'jetstream'])('events on the %s store', (kind) => {
  it.concurrent(
    'appends, reads history in version order, and reports a version conflict with exit 1',
    async () => {
      const store = newStore(kind);
      const a = await runCli([
        'events',
        'append',
        'order-1',
        'OrderPlaced',
        '-d',
        '{"sku":"A1"}',
        '--expected-version',
        'none',
        '--correlation-id',
        'c-1',
        ...store,
      ]);
      expect(a.code, a.stderr).toBe(0);
      expect(a.stdout).toBe('');
      expect(a.stderr).toMatch(/appended order-1@v1 OrderPlaced/);
      const b = await runCli([
        'events',
        'append',
        'order-1',
        'OrderPaid',
        '-d',
        '{"total":12.5}',
        '--expected-version',
        '1',
        '--json',
        ...store,
      ]);
      expect(b.code, b.stderr).toBe(0);
      const appended = lines<{ ok: boolean; exit: number; event: EventLine }>(b.stdout)[0]!;
      expect(appended).toMatchObject({
        ok: true,
        exit: 0,
        event: { aggregate: 'order-1', type: 'OrderPaid', version: 2, data: { total: 12.5 } },
      });

      const conflict = await runCli([
        'events',
        'append',
        'order-1',
        'OrderPaid',
        '--expected-version',
        '1',
        '--json',
        ...store,
      ]);
      expect(conflict.code).toBe(1);
      expect(conflict.stderr).toMatch(/expected version 1, aggregate is at 2/);
      expect(lines(conflict.stdout)[0]).toMatchObject({
        ok: false,
        exit: 1,
        status: 'conflict',
        expectedVersion: 1,
        actualVersion: 2,
        error: { kind: 'response', code: 'COMMS_ERR_VERSION_CONFLICT' },
      });
      const none = await runCli([
        'events',
        'append',
        'order-1',
        'Again',
        '--expected-version',
        'none',
        ...store,
      ]);
      expect(none.code).toBe(1);
      expect(none.stderr).toMatch(/aggregate is at 2/);

      const read = await runCli(['events', 'read', 'order-1', '--json', ...store]);
      expect(read.code, read.stderr).toBe(0);
      const history = lines(read.stdout);
      expect(history.map((e) => [e.version, e.type])).toEqual([
        [1, 'OrderPlaced'],
        [2, 'OrderPaid'],
      ]);
      expect(history[0]).toMatchObject({ data: { sku: 'A1' }, metadata: { correlationId: 'c-1' } });
      expect(history[1]!.position).toBeGreaterThan(history[0]!.position);
      const from = await runCli(['events', 'read', 'order-1', '--from', '2', ...store]);
      expect(from.stdout).toMatch(/order-1@v2 OrderPaid .*\{"total":12.5\}/);
      expect(from.stdout).not.toMatch(/OrderPlaced/);
    },
    SLOW,
  );

  it.concurrent(
    '--id makes an append idempotent: the same id returns the original event',
    async () => {
      const store = newStore(kind);
      const first = await runCli([
        'events',
        'append',
        'acct-7',
        'Opened',
        '--id',
        'evt-1',
        '--expected-version',
        'none',
        '--json',
        ...store,
      ]);
      expect(first.code, first.stderr).toBe(0);
      // Same id again, even with a now-stale expected version: the original comes back, no duplicate.
      const again = await runCli([
        'events',
        'append',
        'acct-7',
        'Opened',
        '--id',
        'evt-1',
        '--expected-version',
        'none',
        '--json',
        ...store,
      ]);
      expect(again.code, again.stderr).toBe(0);
      const [a] = lines<{ duplicate: boolean; event: EventLine }>(first.stdout);
      const [b] = lines<{ duplicate: boolean; status: string; event: EventLine }>(again.stdout);
      expect(a!.duplicate).toBe(false);
      expect(b).toMatchObject({ duplicate: true, status: 'duplicate' });
      expect(b!.event).toEqual(a!.event);
      const read = await runCli(['events', 'read', 'acct-7', '--json', ...store]);
      expect(lines(read.stdout).map((e) => e.id)).toEqual(['evt-1']);
    },
    SLOW,
  );

  it.concurrent(
    '--lines appends one event per NDJSON line; read --all filters by type; stats counts',
    async () => {
      const store = newStore(kind);
      const input = '{"n":1}\n{"n":2}\n\n{"n":3}\n';
      const r = await runCli(
        [
          'events',
          'append',
          'meter-1',
          'Reading',
          '--lines',
          '--expected-version',
          'none',
          '--id',
          'm-{{seq}}',
          '--json',
          ...store,
        ],
        { input },
      );
      expect(r.code, r.stderr).toBe(0);
      expect(lines<{ event: EventLine }>(r.stdout).map((x) => [x.event.id, x.event.version])).toEqual([
        ['m-1', 1],
        ['m-2', 2],
        ['m-3', 3],
      ]);
      expect((await runCli(['events', 'append', 'other-1', 'Note', '-d', '"hi"', ...store])).code).toBe(0);

      const all = await runCli(['events', 'read', '--all', '--json', ...store]);
      expect(all.code, all.stderr).toBe(0);
      const everything = lines(all.stdout);
      expect(everything.map((e) => e.position)).toEqual([1, 2, 3, 4]);
      const readings = await runCli(['events', 'read', '--all', '--type', 'Note', '--json', ...store]);
      expect(lines(readings.stdout).map((e) => e.data)).toEqual(['hi']);

      const stats = await runCli(['events', 'stats', '--json', ...store]);
      expect(stats.code, stats.stderr).toBe(0);
      expect(lines(stats.stdout)[0]).toMatchObject({ aggregates: 2, events: 4, lastPosition: 4, ok: true });
    },
    SLOW,
  );

  it.concurrent(
    'tail follows new events live as NDJSON',
    async () => {
      const store = newStore(kind);
      expect((await runCli(['events', 'append', 'old-1', 'Before', ...store])).code).toBe(0);
      // --from pins the start (after the existing event) whether tail starts before or after the appends.
      const tail = startCli(['events', 'tail', '--from', '1', '--count', '2', '--json', ...store]);
      const a = await runCli(['events', 'append', 'new-1', 'After', '-d', '{"i":1}', ...store]);
      const b = await runCli(['events', 'append', 'new-2', 'After', '-d', '{"i":2}', ...store]);
      expect([a.code, b.code]).toEqual([0, 0]);
      const done = await tail.exited;
      expect(done.code, tail.stderr()).toBe(0);
      const seen = lines<Record<string, unknown>>(tail.stdout());
      // The contract's one message shape, the event itself as `data`.
      expect(seen.map((m) => [m.type, m.transport, m.n, m.subject, m.encoding])).toEqual([
        ['message', 'events', 1, 'new-1', 'json'],
        ['message', 'events', 2, 'new-2', 'json'],
      ]);
      const events = seen.map((m) => m.data as { aggregate: string; data: unknown; position: number });
      expect(events.map((e) => [e.aggregate, e.data, e.position])).toEqual([
        ['new-1', { i: 1 }, 2],
        ['new-2', { i: 2 }, 3],
      ]);
      for (const m of seen) {
        expect(Object.keys(m).sort()).toEqual(
          ['type', 'transport', 'n', 'subject', 'headers', 'data', 'encoding', 'size', 'received'].sort(),
        );
        expect(m.headers).toEqual((m.data as { metadata: unknown }).metadata);
        expect(m.size).toBe(Buffer.byteLength(JSON.stringify(m.data)));
        expect(Number.isNaN(Date.parse(String(m.received)))).toBe(false);
      }
    },
    SLOW,
  );

  it.concurrent(
    'dispatch delivers in order with retries and a checkpoint; a re-run resumes after it',
    async () => {
      const store = newStore(kind);
      const input = '{"n":1}\n{"n":2}\n{"n":3}\n';
      expect((await runCli(['events', 'append', 'job-1', 'Step', '--lines', ...store], { input })).code).toBe(
        0,
      );
      const out = join(tmp, `handled-${seq}-${kind}.txt`);
      // Fails the first attempt of the event at version 2, then succeeds: exactly one retry.
      const handler = `exec:echo "$COMMS_EVENT_ID $COMMS_EVENT_VERSION $COMMS_EVENT_ATTEMPT" >> ${out}; [ "$COMMS_EVENT_VERSION" != 2 ] || [ "$COMMS_EVENT_ATTEMPT" -gt 1 ]`;
      const r = await runCli([
        'events',
        'dispatch',
        '--to',
        handler,
        '--checkpoint',
        'worker',
        '--retries',
        '2',
        '--backoff',
        '5ms',
        '--json',
        ...store,
      ]);
      expect(r.code, r.stderr).toBe(0);
      const results = lines<{
        outcome?: string;
        type?: string;
        handled?: number;
        retried?: number;
        deadLettered?: number;
        position?: number;
      }>(r.stdout);
      const summary = results.at(-1)!;
      expect(summary).toMatchObject({
        type: 'summary',
        handled: 3,
        retried: 1,
        deadLettered: 0,
        position: 3,
        exit: 0,
      });
      expect(results.slice(0, -1).map((x) => x.outcome)).toEqual(['handled', 'handled', 'handled']);
      const calls = readFileSync(out, 'utf8')
        .trim()
        .split('\n')
        .map((l) => l.split(' ').slice(1).join(' '));
      expect(calls).toEqual(['1 1', '2 1', '2 2', '3 1']);

      expect((await runCli(['events', 'append', 'job-1', 'Step', '-d', '{"n":4}', ...store])).code).toBe(0);
      const again = await runCli([
        'events',
        'dispatch',
        '--to',
        handler,
        '--checkpoint',
        'worker',
        '--json',
        ...store,
      ]);
      expect(again.code, again.stderr).toBe(0);
      expect(lines<{ handled?: number; position?: number }>(again.stdout).at(-1)).toMatchObject({
        handled: 1,
        position: 4,
      });
      expect(readFileSync(out, 'utf8').trim().split('\n')).toHaveLength(5);
    },
    SLOW,
  );

  it.concurrent(
    'an event still failing goes to the dead letters (exit 1); re-driving clears them',
    async () => {
      const store = newStore(kind);
      expect(
        (
          await runCli(['events', 'append', 'inv-1', 'Issued', '--lines', ...store], {
            input: '{"ok":true}\n{"ok":false}\n{"ok":true}\n',
          })
        ).code,
      ).toBe(0);
      // The handler rejects events whose data says ok:false.
      const picky = 'exec:grep -q \'"ok":true\'';
      const r = await runCli([
        'events',
        'dispatch',
        '--to',
        picky,
        '--checkpoint',
        'billing',
        '--retries',
        '1',
        '--backoff',
        '1ms',
        ...store,
      ]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/#\d+ inv-1@v2 Issued dead-lettered: handler exited with 1/);
      expect(r.stderr).toMatch(/2 handled, 1 retried, 1 dead-lettered/);

      const dl = await runCli(['events', 'dead-letters', '--checkpoint', 'billing', '--json', ...store]);
      expect(dl.code, dl.stderr).toBe(0);
      const letters = lines<{ group: string; runs: number; event: EventLine; error: { message: string } }>(
        dl.stdout,
      );
      expect(letters).toHaveLength(1);
      expect(letters[0]).toMatchObject({
        group: 'billing',
        runs: 1,
        event: { aggregate: 'inv-1', version: 2 },
      });

      const stillFailing = await runCli([
        'events',
        'dispatch',
        '--to',
        picky,
        '--checkpoint',
        'billing',
        '--retry-dead-letters',
        ...store,
      ]);
      expect(stillFailing.code).toBe(1);
      const kept = lines<{ runs: number }>(
        (await runCli(['events', 'dead-letters', '--json', ...store])).stdout,
      );
      expect(kept.map((l) => l.runs)).toEqual([2]);

      const redrive = await runCli([
        'events',
        'dispatch',
        '--to',
        'exec:cat > /dev/null',
        '--checkpoint',
        'billing',
        '--retry-dead-letters',
        '--json',
        ...store,
      ]);
      expect(redrive.code, redrive.stderr).toBe(0);
      expect(lines(redrive.stdout).at(-1)).toMatchObject({
        type: 'summary',
        operation: 'redrive',
        handled: 1,
        remaining: 0,
      });
      const empty = await runCli(['events', 'dead-letters', ...store]);
      expect(empty.stdout).toBe('');
      expect(empty.stderr).toMatch(/0 dead letters/);
    },
    SLOW,
  );

  it.concurrent(
    'a handler that keeps failing trips the breaker: dispatch stops (exit 5) before the rest',
    async () => {
      const store = newStore(kind);
      expect(
        (await runCli(['events', 'append', 'b-1', 'E', '--lines', ...store], { input: '1\n2\n3\n4\n' })).code,
      ).toBe(0);
      const r = await runCli([
        'events',
        'dispatch',
        '--to',
        'exec:exit 7',
        '--checkpoint',
        'down',
        '--breaker',
        '2',
        '--json',
        ...store,
      ]);
      expect(r.code).toBe(5);
      const out = lines<{
        outcome?: string;
        type?: string;
        deadLettered?: number;
        stopped?: string;
        position?: number;
      }>(r.stdout);
      expect(out.slice(0, -1).map((x) => x.outcome)).toEqual(['dead-lettered', 'dead-lettered', 'stopped']);
      expect(out.at(-1)).toMatchObject({
        type: 'summary',
        deadLettered: 2,
        stopped: 'breaker',
        position: 2,
        exit: 5,
      });
    },
    SLOW,
  );

  it.concurrent(
    'N processes appending with the same expected version: exactly one wins, no gap or duplicate',
    async () => {
      const store = newStore(kind);
      expect(
        (await runCli(['events', 'append', 'race-1', 'Created', '--expected-version', 'none', ...store]))
          .code,
      ).toBe(0);
      const n = 6;
      const runs = await Promise.all(
        Array.from({ length: n }, (_, i) =>
          runCli([
            'events',
            'append',
            'race-1',
            'Claimed',
            '-d',
            `{"by":${i}}`,
            '--expected-version',
            '1',
            ...store,
          ]),
        ),
      );
      const codes = runs.map((r) => r.code).sort();
      expect(codes).toEqual([0, ...Array(n - 1).fill(1)]);
      for (const r of runs.filter((x) => x.code === 1))
        expect(r.stderr).toMatch(/expected version 1, aggregate is at 2/);
      // And with --expected-version any, all of them land with versions 3..n+2.
      const anyRuns = await Promise.all(
        Array.from({ length: n }, () => runCli(['events', 'append', 'race-1', 'Tick', ...store])),
      );
      expect(anyRuns.map((r) => r.code)).toEqual(Array(n).fill(0));
      const history = lines((await runCli(['events', 'read', 'race-1', '--json', ...store])).stdout);
      expect(history.map((e) => e.version)).toEqual(Array.from({ length: n + 2 }, (_, i) => i + 1));
      expect(new Set(history.map((e) => e.id)).size).toBe(n + 2);
    },
    SLOW,
  );
});

describe.each<StoreKind>(['embedded', 'jetstream'])('--id reused on the %s store', (kind) => {
  it.concurrent(
    'for another aggregate or type is a conflict (exit 1) naming the event that holds it; the same append again is a duplicate',
    async () => {
      const store = newStore(kind);
      const first = await runCli([
        'events',
        'append',
        'order-1',
        'Placed',
        '--id',
        'evt-1',
        '--json',
        ...store,
      ]);
      expect(first.code, first.stderr).toBe(0);

      const other = await runCli([
        'events',
        'append',
        'other',
        'Placed',
        '--id',
        'evt-1',
        '--json',
        ...store,
      ]);
      expect(other.code).toBe(1);
      expect(other.stderr).toMatch(/id 'evt-1' is already used by order-1@v1 Placed/);
      expect(lines(other.stdout)[0]).toMatchObject({
        ok: false,
        exit: 1,
        status: 'id-conflict',
        error: { code: 'COMMS_ERR_ID_CONFLICT' },
        existing: { aggregate: 'order-1', type: 'Placed', version: 1 },
      });

      const retyped = await runCli(['events', 'append', 'order-1', 'Paid', '--id', 'evt-1', ...store]);
      expect(retyped.code).toBe(1);
      expect(retyped.stderr).toMatch(/already used by order-1@v1 Placed/);

      const again = await runCli([
        'events',
        'append',
        'order-1',
        'Placed',
        '--id',
        'evt-1',
        '--json',
        ...store,
      ]);
      expect(again.code, again.stderr).toBe(0);
      expect(lines<{ duplicate: boolean }>(again.stdout)[0]!.duplicate).toBe(true);

      const all = await runCli(['events', 'read', '--all', '--json', ...store], HANG_GUARD);
      expect(lines<{ aggregate: string }>(all.stdout).map((e) => e.aggregate)).toEqual(['order-1']);
    },
    SLOW,
  );
});
