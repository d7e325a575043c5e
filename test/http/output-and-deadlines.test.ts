import { spawn } from 'node:child_process';
import {
  chmodSync,
  lstatSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listen } from '../kit/listen.js';
import { runCli } from '../kit/spawn-cli.js';

/*
 * Issue 10, items 1 and 2: -o never replaces what it should write into, and --timeout / --max-time
 * bound the whole attempt (connect and TLS included), after which the process exits promptly.
 */

let server: Server;
let base: string;
let dir: string;
const BODY = 'hello from the test server\n';

beforeAll(async () => {
  server = createHttpServer((req, res) => {
    if (req.url === '/fail') {
      res.statusCode = 500;
      res.end('failure body\n');
      return;
    }
    res.end(BODY);
  });
  base = `http://127.0.0.1:${await listen(server)}`;
  dir = mkdtempSync(join(tmpdir(), 'comms-o-'));
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  rmSync(dir, { recursive: true, force: true });
});

describe('-o targets (as curl)', () => {
  it('-o - writes the body to stdout and creates no file named -', async () => {
    const r = await runCli(['http', 'get', `${base}/x`, '-o', '-'], { cwd: dir });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(BODY);
    expect(() => statSync(join(dir, '-'))).toThrow();
  });

  it('a regular file is replaced on success, keeping its mode (600 stays 600)', async () => {
    const file = join(dir, 'secret.txt');
    writeFileSync(file, 'old');
    chmodSync(file, 0o600);
    const r = await runCli(['http', 'get', `${base}/x`, '-o', file]);
    expect(r.code).toBe(0);
    expect(readFileSync(file, 'utf8')).toBe(BODY);
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it('a failed call leaves the existing file untouched and no temp file behind', async () => {
    const file = join(dir, 'keep.txt');
    writeFileSync(file, 'keep me');
    const r = await runCli(['http', 'get', `${base}/fail`, '-o', file]);
    expect(r.code).toBe(1);
    expect(readFileSync(file, 'utf8')).toBe('keep me');
    const { readdirSync } = await import('node:fs');
    expect(readdirSync(dir).filter((f) => f.endsWith('.part'))).toEqual([]);
  });

  it('a symlink to a regular file writes the file it points to; the link stays a link', async () => {
    const real = join(dir, 'real.txt');
    const link = join(dir, 'link.txt');
    writeFileSync(real, 'before');
    symlinkSync(real, link);
    const r = await runCli(['http', 'get', `${base}/x`, '-o', link]);
    expect(r.code).toBe(0);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readlinkSync(link)).toBe(real);
    expect(readFileSync(real, 'utf8')).toBe(BODY);
  });

  it('a FIFO is written through, not replaced by a regular file', async () => {
    const fifo = join(dir, 'pipe');
    await new Promise<void>((resolve, reject) => {
      const mk = spawn('mkfifo', [fifo]);
      mk.on('error', reject);
      mk.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`mkfifo exit ${code}`))));
    });
    // A reader on the FIFO, as `cat pipe` would be.
    const reader = spawn('cat', [fifo]);
    let read = '';
    reader.stdout.setEncoding('utf8').on('data', (d: string) => (read += d));
    const readerDone = new Promise((r) => reader.on('close', r));
    const r = await runCli(['http', 'get', `${base}/x`, '-o', fifo]);
    await readerDone;
    expect(r.code).toBe(0);
    expect(read).toBe(BODY);
    expect(lstatSync(fifo).isFIFO()).toBe(true);
  });

  it('/dev/null stays a character device', async () => {
    const before = statSync('/dev/null');
    const r = await runCli(['http', 'get', `${base}/x`, '-o', '/dev/null']);
    expect(r.code).toBe(0);
    const after = statSync('/dev/null');
    expect(after.isCharacterDevice()).toBe(true);
    expect(after.ino).toBe(before.ino);
    expect(after.rdev).toBe(before.rdev);
  });

  it('a directory that does not exist is a usage error (exit 2), nothing sent', async () => {
    const r = await runCli(['http', 'get', `${base}/x`, '-o', join(dir, 'no', 'such', 'f')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/cannot write -o file .*no such directory/);
  });
});

describe('deadlines cover connect and TLS; the process exits promptly after the verdict', () => {
  let silent: NetServer;
  let silentPort: number;
  const sockets = new Set<Socket>();

  beforeAll(async () => {
    // Accepts TCP and never answers: a TLS handshake (or an HTTP response) never comes.
    silent = createNetServer((s) => {
      sockets.add(s);
      s.on('error', () => {});
    });
    silentPort = await listen(silent);
  });
  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((r) => silent.close(r));
  });

  it("--timeout 1s against a TLS handshake that never completes: exit 4 well before undici's 10 s", async () => {
    const t0 = performance.now();
    const r = await runCli(['http', 'get', `https://127.0.0.1:${silentPort}/`, '--timeout', '1s', '-k']);
    const ms = performance.now() - t0;
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/timed out/);
    // 1 s plus process start-up and exit; far from the 10.5 s it used to take.
    expect(ms).toBeLessThan(6_000);
  });

  it('--max-time 1s against a server that never answers: exit 4 promptly', async () => {
    const t0 = performance.now();
    const r = await runCli(['http', 'get', `http://127.0.0.1:${silentPort}/`, '--max-time', '1s']);
    const ms = performance.now() - t0;
    expect(r.code).toBe(4);
    expect(ms).toBeLessThan(6_000);
  });

  it("a legitimate --timeout longer than 10 s is not cut off at undici's default connect limit", async () => {
    // The connect itself is instant here; what matters is that the connect timer follows --timeout.
    const r = await runCli(['http', 'get', `${base}/x`, '--timeout', '30s']);
    expect(r.code).toBe(0);
  });
});
