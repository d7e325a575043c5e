import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../kit/spawn-cli.js';

/** Bad events input: flags, store paths, unreachable stores; and the embedded store stays light. */
let seq = 0;
const tmp = mkdtempSync(join(tmpdir(), 'comms-events-bad-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function dir(): string {
  seq += 1;
  return join(tmp, `store-${seq}`);
}

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
    // Our own modules are one bundled script (no loader sees them): the NATS store's libraries are
    // what would load with it.
    expect(loaded).toMatch(/dist\/bundle\/main\.cjs/); // the trace works
    expect(loaded).not.toMatch(/@nats-io|nkeys|@grpc/);
  });
});
