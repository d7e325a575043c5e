import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ndjson } from '../kit/ndjson.js';
import { runCli } from '../kit/spawn-cli.js';

/**
 * `--breaker-state FILE` as a file comms-cli writes (issue 17): written through a symlink, mode kept,
 * no temp file left and none with a guessable name, an entry of the wrong type a usage error naming
 * the file. Driven by `events dispatch --to exec:false` (a handler that always fails: a peer fault).
 */
let tmp: string;
let seq = 0;

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'comms-breaker-state-'));
});
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

async function setup(): Promise<{ dir: string; store: string }> {
  seq += 1;
  const dir = join(tmp, `case-${seq}`);
  mkdirSync(dir);
  const store = join(dir, 'store');
  const r = await runCli(['events', 'append', 'order-1', 'Placed', '--store', store, '-q']);
  expect(r.code, r.stderr).toBe(0);
  return { dir, store };
}

function failingDispatch(store: string, state: string, extra: string[] = []) {
  return runCli([
    'events',
    'dispatch',
    '--to',
    'exec:false',
    '--breaker',
    '5',
    '--breaker-state',
    state,
    '--store',
    store,
    ...extra,
  ]);
}

describe('--breaker-state FILE', () => {
  it('a state file that is a symlink is written through to its target (the link stays a link)', async () => {
    const { dir, store } = await setup();
    const real = join(dir, 'real-state.json');
    writeFileSync(real, '{}\n');
    const link = join(dir, 'state.json');
    symlinkSync(real, link);
    const r = await failingDispatch(store, link);
    expect(r.code).toBe(1);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    const saved = JSON.parse(readFileSync(real, 'utf8')) as Record<string, { breakerState: number }>;
    expect(saved['exec:false']?.breakerState).toBe(1);
    expect(readdirSync(dir).sort()).toEqual(['real-state.json', 'state.json', 'store']);
  });

  it("keeps the file's mode (0600 stays 0600) and leaves no temp or lock file", async () => {
    const { dir, store } = await setup();
    const state = join(dir, 'state.json');
    writeFileSync(state, '{}\n');
    chmodSync(state, 0o600);
    expect((await failingDispatch(store, state)).code).toBe(1);
    expect((await failingDispatch(store, state)).code).toBe(1);
    expect(statSync(state).mode & 0o777).toBe(0o600);
    const saved = JSON.parse(readFileSync(state, 'utf8')) as Record<string, { breakerState: number }>;
    expect(saved['exec:false']?.breakerState).toBe(2);
    expect(readdirSync(dir).sort()).toEqual(['state.json', 'store']);
  });

  it('does not write through a planted FILE.<pid>.tmp symlink (the temp name is not predictable)', async () => {
    const { dir, store } = await setup();
    const state = join(dir, 'state.json');
    const victim = join(dir, 'victim.txt');
    writeFileSync(victim, 'precious\n');
    // The old temp name was FILE.<pid>.tmp: plant it for every pid the next spawn is likely to get
    // (pids count up from the last one handed out).
    const base = spawnSync('true').pid ?? process.pid;
    for (let pid = base + 1; pid < base + 500; pid++) {
      try {
        symlinkSync(victim, `${state}.${pid}.tmp`);
      } catch {
        // exists
      }
    }
    expect((await failingDispatch(store, state)).code).toBe(1);
    expect(readFileSync(victim, 'utf8')).toBe('precious\n');
    expect(lstatSync(state).isFile()).toBe(true);
  });

  it.each([
    [
      'a string',
      '{"exec:false": "open"}',
      /the entry for 'exec:false' is not a breaker state \(expected an object, got "open"\)/,
    ],
    [
      'a bad state value',
      '{"exec:false": {"ownState": {"value": 7}, "breakerState": 0}}',
      /ownState\.value must be 0, 1, 2 or 3, got 7/,
    ],
    [
      'a string count',
      '{"exec:false": {"ownState": {"value": 0}, "breakerState": "2"}}',
      /breakerState must be a non-negative integer, got "2"/,
    ],
    ['an array', '[]', /is not a breaker state file/],
  ])(
    'an entry of the wrong type (%s) is exit 2 naming the file, nothing delivered',
    async (_name, content, message) => {
      const { dir, store } = await setup();
      const state = join(dir, 'state.json');
      writeFileSync(state, content);
      const r = await failingDispatch(store, state);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`--breaker-state file '${state}'`);
      expect(r.stderr).toMatch(message);
      expect(readFileSync(state, 'utf8')).toBe(content);
      const j = await failingDispatch(store, state, ['--json']);
      expect(j.code).toBe(2);
      expect(ndjson(j.stdout)[0]).toMatchObject({
        ok: false,
        error: { kind: 'usage', code: 'COMMS_ERR_BREAKER_STATE' },
      });
    },
  );
});
