import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../kit/spawn-cli.js';

const dir = mkdtempSync(join(tmpdir(), 'comms-events-load-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('events append in load mode (embedded store)', () => {
  it('appends n events through the shared pipeline, templates expanded per call, and ends with the summary', async () => {
    const store = join(dir, 'store');
    const r = await runCli([
      'events',
      'append',
      'meter-{{seq}}',
      'Reading',
      '-d',
      '{"n":{{seq}}}',
      '-n',
      '200',
      '-c',
      '8',
      '--store',
      store,
      '--json',
    ]);
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '{}');
    expect(summary).toMatchObject({ type: 'summary', transport: 'events', requests: 200, errors: 0 });
    const stats = await runCli(['events', 'stats', '--store', store, '--json']);
    expect(JSON.parse(stats.stdout)).toMatchObject({ aggregates: 200, events: 200 });
    const one = await runCli(['events', 'read', 'meter-42', '--store', store, '--json']);
    expect(JSON.parse(one.stdout)).toMatchObject({ aggregate: 'meter-42', version: 1, data: { n: 42 } });
  });

  it('a templated --id makes a re-run idempotent: nothing is appended twice', async () => {
    const store = join(dir, 'idem');
    const args = [
      'events',
      'append',
      'acct',
      'Tick',
      '--id',
      'tick-{{seq}}',
      '-n',
      '50',
      '-c',
      '4',
      '--store',
      store,
      '--json',
    ];
    expect((await runCli(args)).code).toBe(0);
    const again = await runCli(args);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout.trim().split('\n').at(-1) ?? '{}').statuses).toEqual({ duplicate: 50 });
    const stats = await runCli(['events', 'stats', '--store', store, '--json']);
    expect(JSON.parse(stats.stdout)).toMatchObject({ events: 50 });
  });

  it('rejects what cannot hold for many appends (exit 2, nothing written)', async () => {
    const store = join(dir, 'bad');
    const a = await runCli([
      'events',
      'append',
      'x',
      'T',
      '--expected-version',
      '3',
      '-n',
      '5',
      '--store',
      store,
    ]);
    expect(a.code).toBe(2);
    expect(a.stderr).toMatch(/--expected-version cannot be used in load mode/);
    const b = await runCli(['events', 'append', 'x', 'T', '--id', 'same', '-n', '5', '--store', store]);
    expect(b.code).toBe(2);
    expect(b.stderr).toMatch(/would be the same for every call/);
  });
});
