import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type RunningHttpServer, startHttpServer } from '../../src/servers/http/server.js';
import { type NatsServer, startNatsServer } from '../kit/nats-server.js';
import { ndjson as lines } from '../kit/ndjson.js';
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
