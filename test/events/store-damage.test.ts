import { execFileSync } from 'node:child_process';
import {
  appendFileSync,
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ndjson } from '../kit/ndjson.js';
import { runCli } from '../kit/spawn-cli.js';

/**
 * The embedded store against damage from outside and unusual media (issues 10 and 17): a read never
 * creates a store, a torn tail is reported, positions a checkpoint passed are never reused, bad
 * checkpoint files are errors naming the file, a read-only store can be read.
 */
let tmp: string;
let seq = 0;

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'comms-events-damage-'));
});
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

function dir(): string {
  seq += 1;
  return join(tmp, `case-${seq}`);
}

async function appendN(store: string, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const r = await runCli([
      'events',
      'append',
      'order-1',
      'Placed',
      '-d',
      `{"i":${i}}`,
      '--store',
      store,
      '-q',
    ]);
    expect(r.code, r.stderr).toBe(0);
  }
}

describe('a read does not create a store', () => {
  it.each([['read', '--all'], ['read', 'order-1'], ['stats'], ['dead-letters'], ['tail', '--count', '1']])(
    'events %s in a directory without a store: exit 2, "no event store", nothing created',
    async (...args) => {
      const cwd = dir();
      mkdirSync(cwd);
      const r = await runCli(['events', ...args], { cwd, env: { COMMS_EVENTS: undefined } });
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/no event store at '\.comms-events'/);
      expect(r.stderr).toMatch(/events append creates it/);
      expect(readdirSync(cwd)).toEqual([]);
    },
  );

  it('--json gets one error object with code COMMS_ERR_NO_STORE; an explicit --store is not created either', async () => {
    const store = join(dir(), 'nested', 'store');
    const r = await runCli(['events', 'stats', '--store', store, '--json']);
    expect(r.code).toBe(2);
    expect(ndjson(r.stdout)[0]).toMatchObject({ ok: false, exit: 2, error: { code: 'COMMS_ERR_NO_STORE' } });
    expect(existsSync(join(store, '..'))).toBe(false);
  });

  it('append still creates the store, after which reads work', async () => {
    const store = dir();
    await appendN(store, 1);
    const r = await runCli(['events', 'stats', '--store', store, '--json']);
    expect(r.code).toBe(0);
    expect(ndjson(r.stdout)[0]).toMatchObject({ events: 1, lastPosition: 1 });
  });
});

describe('a torn last line', () => {
  it('stats warns about it (exit 0, --json has tornTail); the next append removes it', async () => {
    const store = dir();
    await appendN(store, 2);
    const log = join(store, 'events.jsonl');
    const whole = statSync(log).size;
    appendFileSync(log, '{"id":"half-writ');
    const r = await runCli(['events', 'stats', '--store', store]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/events\s+2/);
    expect(r.stderr).toMatch(/warning: '.*events\.jsonl' ends in a torn line \(16 bytes at byte \d+/);
    const j = await runCli(['events', 'stats', '--store', store, '--json']);
    expect(ndjson(j.stdout)[0]).toMatchObject({ events: 2, tornTail: { offset: whole, bytes: 16 } });

    await appendN(store, 1);
    const after = await runCli(['events', 'stats', '--store', store]);
    expect(after.stderr).not.toMatch(/torn/);
    expect(after.stdout).toMatch(/last position\s+3/);
  });

  it('append refuses to reuse a position a checkpoint has already passed (the log lost its last event)', async () => {
    const store = dir();
    await appendN(store, 3);
    const d = await runCli([
      'events',
      'dispatch',
      '--to',
      'exec:true',
      '--checkpoint',
      'billing',
      '--store',
      store,
    ]);
    expect(d.code, d.stderr).toBe(0);
    // Damage: the last event's line is cut in half (a torn tail where a whole event was).
    const log = join(store, 'events.jsonl');
    truncateSync(log, statSync(log).size - 20);
    const before = readFileSync(log);

    const r = await runCli(['events', 'append', 'order-1', 'Placed', '--store', store, '--json']);
    expect(r.code).toBe(1);
    expect(ndjson(r.stdout)[0]).toMatchObject({ ok: false, error: { code: 'COMMS_ERR_STORE_DAMAGED' } });
    const human = await runCli(['events', 'append', 'order-1', 'Placed', '--store', store]);
    expect(human.code).toBe(1);
    expect(human.stderr).toMatch(
      /ends at position 2, but checkpoint '.*checkpoints\/billing\.json' is already at 3: an append would reuse a position/,
    );
    // Nothing was written or cut: the evidence stays for whoever repairs it.
    expect(readFileSync(log).equals(before)).toBe(true);
  });
});

describe('checkpoint files', () => {
  async function dispatchWith(
    content: string,
  ): Promise<{ code: number | null; stderr: string; file: string }> {
    const store = dir();
    await appendN(store, 2);
    mkdirSync(join(store, 'checkpoints'), { recursive: true });
    const file = join(store, 'checkpoints', 'c.json');
    writeFileSync(file, content);
    const r = await runCli([
      'events',
      'dispatch',
      '--to',
      'exec:true',
      '--checkpoint',
      'c',
      '--store',
      store,
    ]);
    return { code: r.code, stderr: r.stderr, file };
  }

  it.each([
    [
      'beyond the end',
      '{"name":"c","position":9}',
      /is at position 9, beyond the end of the log \(last position 2\)/,
    ],
    ['negative', '{"name":"c","position":-1}', /position is -1, not a non-negative integer/],
    ['a string', '{"name":"c","position":"1"}', /position is "1", not a non-negative integer/],
    ['a fraction', '{"name":"c","position":1.5}', /position is 1\.5, not a non-negative integer/],
    ['not JSON', 'garbage', /it is not JSON/],
  ])('%s: exit 2 naming the file, nothing delivered', async (_name, content, message) => {
    const r = await dispatchWith(content);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toContain(r.file);
    expect(r.stderr).not.toMatch(/handled/);
    expect(readFileSync(r.file, 'utf8')).not.toMatch(/"time"/); // untouched
  });

  it('a valid checkpoint at the end delivers nothing and exits 0', async () => {
    const r = await dispatchWith('{"name":"c","position":2}');
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/0 handled/);
  });
});

/**
 * A read-only store. Tests run as root, where permission bits do not stop writes, so the store is
 * made read-only by a read-only bind mount (a real EROFS, as on read-only media) when this process
 * may mount; otherwise (not root) by chmod on a copy, which then does stop writes.
 */
describe('a read-only store', () => {
  let ro: string | undefined;
  let how = '';
  let source = '';

  beforeAll(async () => {
    source = dir();
    await appendN(source, 3);
    const d = await runCli([
      'events',
      'dispatch',
      '--to',
      'exec:false',
      '--checkpoint',
      'c',
      '--store',
      source,
    ]);
    expect(d.code).toBe(1); // three dead letters, to read back
    const target = dir();
    if (process.getuid?.() === 0) {
      mkdirSync(target);
      try {
        execFileSync('mount', ['--bind', source, target], { stdio: 'ignore' });
        execFileSync('mount', ['-o', 'remount,ro,bind', target], { stdio: 'ignore' });
        ro = target;
        how = 'read-only bind mount';
      } catch {
        try {
          execFileSync('umount', [target], { stdio: 'ignore' });
        } catch {
          // was not mounted
        }
      }
    } else {
      cpSync(source, target, { recursive: true });
      for (const f of ['events.jsonl', 'checkpoints/c.json', 'dead-letters/c.json'])
        chmodSync(join(target, f), 0o444);
      for (const d of ['checkpoints', 'dead-letters', '.']) chmodSync(join(target, d), 0o555);
      ro = target;
      how = 'chmod a-w copy';
    }
  });
  afterAll(() => {
    if (how === 'read-only bind mount' && ro) execFileSync('umount', [ro], { stdio: 'ignore' });
  });

  it('read, stats and dead-letters work; append says why it cannot (exit 2)', async (ctx) => {
    if (!ro) ctx.skip();
    const store = ro as string;
    const read = await runCli(['events', 'read', '--all', '--store', store, '--json']);
    expect(read.code, `${how}: ${read.stderr}`).toBe(0);
    expect(ndjson(read.stdout)).toHaveLength(3);
    const stats = await runCli(['events', 'stats', '--store', store]);
    expect(stats.code).toBe(0);
    expect(stats.stdout).toMatch(/events\s+3/);
    const dl = await runCli(['events', 'dead-letters', '--store', store]);
    expect(dl.code).toBe(0);
    expect(dl.stderr).toMatch(/3 dead letters/);

    const append = await runCli(['events', 'append', 'order-1', 'Placed', '--store', store]);
    expect(append.code).toBe(2);
    expect(append.stderr).toMatch(/cannot open event store .*(read-only file system|permission denied)/);
    expect(readdirSync(store).sort()).toEqual(['checkpoints', 'dead-letters', 'events.jsonl']);
  });
});
