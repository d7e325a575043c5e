import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listen } from '../kit/listen.js';
import { CLI, killSurvivors, runCli } from '../kit/spawn-cli.js';

/*
 * Bounded memory (--max-body, decompression bombs), comms-cli's own failures as kind `local` (exit 6)
 * that keep the result's fields, exact JSON numbers, and --retry-on. docs/http.md has the rules.
 */

let server: Server;
let base: string;
let hits500 = 0;
/** 200 MB of zeros, gzipped (~200 KB on the wire). */
const BOMB = gzipSync(Buffer.alloc(200 * 1024 * 1024), { level: 9 });
const BIG_INT = '{"id":9007199254740993,"small":1.50,"list":[12345678901234567890]}';

beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url === '/bomb') {
      res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' }).end(BOMB);
    } else if (req.url === '/deep') {
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(`${'['.repeat(5000)}${']'.repeat(5000)}`);
    } else if (req.url === '/bigint') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(BIG_INT);
    } else if (req.url === '/500') {
      hits500 += 1;
      res.writeHead(500).end('boom');
    } else res.end('ok');
  });
  base = `http://127.0.0.1:${await listen(server)}`;
});
afterAll(() => {
  killSurvivors();
  server.close();
});

describe('memory stays bounded', () => {
  it('a decompression bomb held for --json stops at --max-body: exit 6, kind local, status kept', async () => {
    const r = await runCli(['http', 'get', `${base}/bomb`, '--json', '--max-body', '8MB']);
    expect(r.code).toBe(6);
    const result = JSON.parse(r.stdout);
    expect(result).toMatchObject({
      transport: 'http',
      target: `${base}/bomb`,
      status: 200,
      exit: 6,
      ok: false,
    });
    expect(result.error.kind).toBe('local');
    expect(result.error.message).toMatch(/larger than --max-body 8 MiB \(decoded\)/);
    expect(result.body).toBeUndefined();
  });

  it('the default --max-body (100 MB) also holds for expectations', async () => {
    const r = await runCli(['http', 'get', `${base}/bomb`, '--expect-body', 'x']);
    expect(r.code).toBe(6);
    expect(r.stderr).toMatch(/--max-body 100 MiB/);
  });

  it.skipIf(!existsSync('/usr/bin/time'))(
    'streaming a 200 MB decoded body to stdout uses constant memory',
    async () => {
      const { stdout, stderr } = await new Promise<{ stdout: number; stderr: string }>((resolve) => {
        const child = execFile(
          '/usr/bin/time',
          ['-f', 'maxrss=%M', process.execPath, CLI, 'http', 'get', `${base}/bomb`],
          { encoding: 'buffer', maxBuffer: 1024 * 1024 * 1024, env: { ...process.env, NO_COLOR: '1' } },
          (_err, out, err) => resolve({ stdout: out.length, stderr: err.toString() }),
        );
        child.stdin?.end();
      });
      expect(stdout).toBe(200 * 1024 * 1024);
      const kb = Number(/maxrss=(\d+)/.exec(stderr)?.[1]);
      // Node itself takes ~60-100 MB; the body (200 MB) must not be held.
      expect(kb).toBeLessThan(180 * 1024);
    },
    60_000,
  );
});

describe("comms-cli's own failures are kind local (exit 6), keeping the result", () => {
  it('a JSON body nested 5000 deep with --json', async () => {
    const r = await runCli(['http', 'get', `${base}/deep`, '--json']);
    expect(r.code).toBe(6);
    const result = JSON.parse(r.stdout);
    expect(result).toMatchObject({ transport: 'http', target: `${base}/deep`, status: 200, exit: 6 });
    expect(result.error.kind).toBe('local');
  });

  it('ENOSPC while writing -o (/dev/full)', async () => {
    const r = await runCli(['http', 'get', `${base}/ok`, '-o', '/dev/full', '--json']);
    expect(r.code).toBe(6);
    const result = JSON.parse(r.stdout);
    expect(result).toMatchObject({ transport: 'http', status: 200, exit: 6 });
    expect(result.error.message).toMatch(/no space left on device/);
  });

  it('"too many open files" in load mode is local, not the peer', async () => {
    const r = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
      execFile(
        'bash',
        ['-c', `ulimit -n 120; exec "${process.execPath}" "${CLI}" http get ${base}/ok -c 400 -n 800 --json`],
        { env: { ...process.env, NO_COLOR: '1' } },
        (err, stdout) => resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout }),
      );
    });
    const summary = JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '{}');
    expect(summary.errorKinds.local).toBeGreaterThan(0);
    expect(summary.errorKinds.response ?? 0).toBe(0);
    expect(r.code).toBe(6);
  });
});

describe('exact JSON numbers', () => {
  it('--json keeps 9007199254740993 and 12345678901234567890 exactly', async () => {
    const r = await runCli(['http', 'get', `${base}/bigint`, '--json']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('"body":{"id":9007199254740993,"small":1.5,"list":[12345678901234567890]}');
  });

  it('--expect-json compares numbers exactly: ...992 fails, ...993 holds', async () => {
    const wrong = await runCli(['http', 'get', `${base}/bigint`, '--expect-json', '$.id=9007199254740992']);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/expected \$\.id = 9007199254740992, got 9007199254740993/);
    const right = await runCli([
      'http',
      'get',
      `${base}/bigint`,
      '--expect-json',
      '$.id=9007199254740993',
      '--expect-json',
      '$.small=1.5',
      '--expect-json',
      '$.list=[12345678901234567890]',
    ]);
    expect(right.stderr).toMatch(/200 OK/);
    expect(right.code).toBe(0);
  });
});

describe('--retries and HTTP 500', () => {
  it('says that 500 is not retried by default and how to include it', async () => {
    hits500 = 0;
    const r = await runCli(['http', 'get', `${base}/500`, '--retries', '2', '--backoff', '1ms']);
    expect(r.code).toBe(1);
    expect(hits500).toBe(1);
    expect(r.stderr).toMatch(/hint: 500 is not retried by default .*add --retry-on 500/);
  });

  it('--retry-on 500,408 retries it', async () => {
    hits500 = 0;
    const r = await runCli([
      'http',
      'get',
      `${base}/500`,
      '--retries',
      '2',
      '--backoff',
      '1ms',
      '--retry-on',
      '500,408',
    ]);
    expect(r.code).toBe(1);
    expect(hits500).toBe(3);
  });

  it('a bad --retry-on is a usage error naming the flag', async () => {
    const r = await runCli(['http', 'get', `${base}/500`, '--retry-on', 'often']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/invalid --retry-on 'often'/);
  });
});
