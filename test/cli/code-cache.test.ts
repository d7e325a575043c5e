import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listen } from '../kit/listen.js';
import { runCli } from '../kit/spawn-cli.js';

/*
 * The loader's V8 code cache (scripts/bundle.mjs): one file per command word and tier under
 * $XDG_CACHE_HOME/comms-cli. A cache written by a run that ended early holds little of the command's
 * code, so the next runs write it again until one gets through its command.
 */

let server: Server;
let url: string;
let cacheHome: string;

beforeAll(async () => {
  server = createServer((_req, res) => res.end('ok'));
  url = `http://127.0.0.1:${await listen(server)}/`;
  cacheHome = mkdtempSync(join(tmpdir(), 'comms-cache-'));
});

afterAll(async () => {
  rmSync(cacheHome, { recursive: true, force: true });
  await new Promise((resolve) => server.close(resolve));
});

/** The one-shot `http` cache file (there is exactly one per command word and tier). */
function oneShotCache(): { path: string; mark: string; size: number } {
  const dir = join(cacheHome, 'comms-cli');
  const names = readdirSync(dir).filter((n) => n.endsWith('-http-o.v8'));
  expect(names).toHaveLength(1);
  const path = join(dir, names[0] as string);
  const bytes = readFileSync(path);
  const newline = bytes.indexOf(0x0a);
  return { path, mark: String.fromCharCode(bytes[newline - 1] as number), size: bytes.length };
}

describe('code cache', () => {
  it('a cache from a run that ended early is written again until a run gets through; then it stays', async () => {
    const env = { XDG_CACHE_HOME: cacheHome };
    const refused = createServer();
    const closedPort = await listen(refused);
    await new Promise((resolve) => refused.close(resolve));

    const refusedRun = () => runCli(['http', 'get', `http://127.0.0.1:${closedPort}/`], { env });
    expect((await refusedRun()).code).toBe(3);
    const early = oneShotCache();
    expect(early.mark).toBe('1');
    // Written again by each run that ends early, three times in a row; then left alone.
    await refusedRun();
    expect(oneShotCache().mark).toBe('2');
    await refusedRun();
    expect(oneShotCache().mark).toBe('3');
    const stuck = statSync(early.path).mtimeMs;
    await refusedRun();
    expect(oneShotCache().mark).toBe('3');
    expect(statSync(early.path).mtimeMs).toBe(stuck);

    const ok = await runCli(['http', 'get', url], { env });
    expect(ok.code).toBe(0);
    expect(ok.stdout).toBe('ok');
    const through = oneShotCache();
    expect(through.mark).toBe('C');
    // It holds what the failed run compiled and what this one compiled besides.
    expect(through.size).toBeGreaterThan(early.size);

    const mtime = statSync(through.path).mtimeMs;
    const again = await runCli(['http', 'get', url], { env });
    expect(again.code).toBe(0);
    expect(statSync(through.path).mtimeMs).toBe(mtime);
  });

  it('a corrupted cache file costs nothing but its rewrite', async () => {
    const env = { XDG_CACHE_HOME: cacheHome };
    const first = await runCli(['http', 'get', url], { env });
    expect(first.code).toBe(0);
    const { path } = oneShotCache();
    writeFileSync(path, Buffer.from('not a cache at all'));
    const r = await runCli(['http', 'get', url], { env });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('ok');
    expect(r.stderr).toMatch(/^HTTP\/1\.1 200 OK/);
    expect(r.stderr).not.toMatch(/error|warn/i);
    expect(oneShotCache().mark).toBe('C');
  });
});
