import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { listen } from '../kit/listen.js';
import { killSurvivors, runCli, startCli } from '../kit/spawn-cli.js';

/** -C/--continue-at against real node:http peers, side by side with the curl on this machine. */

const BODY = randomBytes(64 * 1024);
let server: Server;
let base: string;
let tmp: string;
/** The Range header of each request, by path. */
const ranges: Array<{ path: string; range: string | undefined; acceptEncoding: string | undefined }> = [];
/** /flaky cuts its first answer midway, then behaves. */
let flakyCuts = 0;

function partial(res: ServerResponse, start: number, cutAfter?: number): void {
  const rest = BODY.subarray(start);
  res.writeHead(206, {
    'content-range': `bytes ${start}-${BODY.length - 1}/${BODY.length}`,
    'content-length': rest.length,
  });
  if (cutAfter === undefined) {
    res.end(rest);
    return;
  }
  // Half the rest, flushed, then the connection dropped: a transfer cut midway. The drop waits a
  // moment after the flush: undici discards body bytes it has buffered but not yet handed on when the
  // socket closes, and the retry test wants the client to have received them.
  res.write(rest.subarray(0, cutAfter), () => setTimeout(() => res.socket?.destroy(), 500));
}

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'comms-resume-'));
  server = createServer((req, res) => {
    const path = req.url ?? '';
    const range = req.headers.range;
    ranges.push({ path, range, acceptEncoding: req.headers['accept-encoding'] });
    const m = /^bytes=(\d+)-$/.exec(range ?? '');
    const start = m ? Number(m[1]) : undefined;
    if (path === '/redirect') {
      res.writeHead(302, { location: '/file' }).end();
      return;
    }
    if (path === '/missing') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('no such file');
      return;
    }
    if (path === '/ignore' || start === undefined) {
      res.writeHead(200, { 'content-length': BODY.length }).end(BODY);
      return;
    }
    if (start >= BODY.length) {
      res.writeHead(416, { 'content-range': `bytes */${BODY.length}` }).end('range not satisfiable');
      return;
    }
    if (path === '/wrong-range') {
      // A 206 that starts one byte later than asked.
      const rest = BODY.subarray(start + 1);
      res.writeHead(206, { 'content-range': `bytes ${start + 1}-${BODY.length - 1}/${BODY.length}` });
      res.end(rest);
      return;
    }
    if (path === '/cut') return partial(res, start, Math.floor((BODY.length - start) / 2));
    if (path === '/flaky' && flakyCuts++ === 0)
      return partial(res, start, Math.floor((BODY.length - start) / 2));
    partial(res, start);
  });
  base = `http://127.0.0.1:${await listen(server)}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  rmSync(tmp, { recursive: true, force: true });
});

beforeEach(() => {
  ranges.length = 0;
});

/** A file holding the first `n` bytes of the body. */
function head(name: string, n: number): string {
  const file = join(tmp, name);
  writeFileSync(file, BODY.subarray(0, n));
  return file;
}

function curl(args: string[]): Promise<{ code: number }> {
  return new Promise((resolve) => {
    execFile('curl', ['-sS', '--max-time', '30', ...args], (err) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? -1) : 0 });
    });
  });
}

describe('-C/--continue-at with -o (as curl -C)', () => {
  it('-C - asks for the rest from the file size and appends the 206 body', async () => {
    const file = head('part.bin', 1000);
    const r = await runCli(['http', 'get', `${base}/file`, '-C', '-', '-o', file, '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(readFileSync(file).equals(BODY)).toBe(true);
    expect(ranges.map((x) => x.range)).toEqual(['bytes=1000-']);
    // A range of an encoded body cannot be decoded alone: as curl, no Accept-Encoding is sent.
    expect(ranges[0]?.acceptEncoding).toBeUndefined();
    const result = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(result).toMatchObject({ ok: true, status: 206, resumedFrom: 1000, bytes: BODY.length - 1000 });
  });

  it('-C N appends bytes N.. to the file, as curl does', async () => {
    const ours = head('n-ours.bin', 10);
    const theirs = head('n-curl.bin', 10);
    const r = await runCli(['http', `${base}/file`, '-C', '60000', '-o', ours]);
    expect(r.code).toBe(0);
    expect((await curl([`${base}/file`, '-C', '60000', '-o', theirs])).code).toBe(0);
    expect(readFileSync(ours).equals(readFileSync(theirs))).toBe(true);
    expect(readFileSync(ours).equals(Buffer.concat([BODY.subarray(0, 10), BODY.subarray(60000)]))).toBe(true);
  });

  it('-C - on a file that does not exist starts from 0 with no Range, as curl', async () => {
    const file = join(tmp, 'fresh.bin');
    const r = await runCli(['http', `${base}/file`, '-C', '-', '-o', file, '--json']);
    expect(r.code).toBe(0);
    expect(readFileSync(file).equals(BODY)).toBe(true);
    expect(ranges.map((x) => x.range)).toEqual([undefined]);
    expect(JSON.parse(r.stdout)).toMatchObject({ status: 200, resumedFrom: 0 });
  });

  it('a 416 on a complete file is success with the file untouched (curl exits 0 too)', async () => {
    const ours = head('done-ours.bin', BODY.length);
    const theirs = head('done-curl.bin', BODY.length);
    const r = await runCli(['http', `${base}/file`, '-C', '-', '-o', ours]);
    const c = await curl([`${base}/file`, '-C', '-', '-o', theirs]);
    expect(c.code).toBe(0);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/416 Range Not Satisfiable \(already complete: nothing to resume\)/);
    expect(readFileSync(ours).equals(BODY)).toBe(true);
    expect(readFileSync(theirs).equals(BODY)).toBe(true);
    const json = await runCli(['http', `${base}/file`, '-C', '-', '-o', ours, '--json']);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({
      ok: true,
      status: 416,
      resumedFrom: BODY.length,
      alreadyComplete: true,
    });
  });

  it('a server that ignores Range (200): exit 1, one line, the file untouched (curl: exit 33)', async () => {
    const ours = head('ignored-ours.bin', 5000);
    const theirs = head('ignored-curl.bin', 5000);
    const r = await runCli(['http', `${base}/ignore`, '-C', '-', '-o', ours]);
    const c = await curl([`${base}/ignore`, '-C', '-', '-o', theirs]);
    expect(c.code).toBe(33);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /error: the server does not seem to support byte ranges: asked for Range: bytes=5000-, it answered 200 with the whole body; cannot resume/,
    );
    expect(r.stderr).toMatch(/hint: the -o file is left as it was/);
    expect(readFileSync(ours).equals(BODY.subarray(0, 5000))).toBe(true);
    expect(readFileSync(theirs).equals(BODY.subarray(0, 5000))).toBe(true);
  });

  it('a 206 whose Content-Range starts elsewhere: exit 1, the file untouched (curl: exit 33)', async () => {
    const ours = head('wrong-ours.bin', 100);
    const r = await runCli(['http', `${base}/wrong-range`, '-C', '-', '-o', ours]);
    expect((await curl([`${base}/wrong-range`, '-C', '-', '-o', head('wrong-curl.bin', 100)])).code).toBe(33);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/it answered 206 with Content-Range: "bytes 101-65535\/65536"; cannot resume/);
    expect(readFileSync(ours).equals(BODY.subarray(0, 100))).toBe(true);
  });

  it('a transfer cut midway keeps the bytes received, and the next -C - completes the file (curl does)', async () => {
    const file = head('cut.bin', 2000);
    const r = await runCli(['http', `${base}/cut`, '-C', '-', '-o', file]);
    // A transfer cut midway is a connection failure (exit 3), as without -C.
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/^error: other side closed/m);
    // The status line says the answer was cut off, not that there was no connection.
    expect(r.stderr).toMatch(/^connection lost mid-response · /m);
    // Whatever arrived was appended after the Content-Range matched: the file is still a prefix of
    // the body, at least as long as before (undici may drop what it buffered when the socket closed).
    const after = readFileSync(file);
    expect(after.length).toBeGreaterThanOrEqual(2000);
    expect(after.equals(BODY.subarray(0, after.length))).toBe(true);
    if (after.length > 2000)
      expect(r.stderr).toMatch(
        /kept the [\d,]+ bytes received in '.*cut\.bin' \(now [\d,]+\): run again with -C - to continue/,
      );
    // The user runs it again against a server that finishes the transfer.
    const again = await runCli(['http', `${base}/file`, '-C', '-', '-o', file]);
    expect(again.code, again.stderr).toBe(0);
    expect(readFileSync(file).equals(BODY)).toBe(true);
  });

  it('a cut transfer with -C - on a new file keeps no empty file', async () => {
    const file = join(tmp, 'cut-new.bin');
    const r = await runCli(['http', `${base}/cut`, '-C', '-', '-o', file]);
    // No Range from 0: the server answers 200 whole, and does not cut it.
    expect(r.code).toBe(0);
    rmSync(file);
    // From an offset the server cuts; what arrived (if anything) is bytes 100.. of the body.
    const r2 = await runCli(['http', `${base}/cut`, '-C', '100', '-o', file]);
    expect(r2.code).toBe(3);
    if (existsSync(file)) {
      const kept = readFileSync(file);
      expect(kept.length).toBeGreaterThan(0);
      expect(kept.equals(BODY.subarray(100, 100 + kept.length))).toBe(true);
    }
  });

  it('--retries resumes from the bytes already received, as curl --retry with -C -', async () => {
    flakyCuts = 0;
    const file = head('flaky.bin', 4000);
    const r = await runCli([
      'http',
      `${base}/flaky`,
      '-C',
      '-',
      '-o',
      file,
      '--retries',
      '2',
      '--backoff',
      '10ms',
      '--json',
    ]);
    expect(r.code).toBe(0);
    expect(readFileSync(file).equals(BODY)).toBe(true);
    const asked = ranges.map((x) => x.range);
    expect(asked).toHaveLength(2);
    expect(asked[0]).toBe('bytes=4000-');
    // The second attempt continues after what the first appended (at most half the rest).
    const second = Number(/^bytes=(\d+)-$/.exec(asked[1] ?? '')?.[1]);
    expect(second).toBeGreaterThan(4000);
    expect(second).toBeLessThanOrEqual(4000 + (BODY.length - 4000) / 2);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: true, resumedFrom: 4000 });
  });

  it('-L keeps the Range on the redirected request', async () => {
    const file = head('redir.bin', 30000);
    const r = await runCli(['http', `${base}/redirect`, '-L', '-C', '-', '-o', file]);
    expect(r.code).toBe(0);
    expect(readFileSync(file).equals(BODY)).toBe(true);
    expect(ranges.map((x) => `${x.path} ${x.range}`)).toEqual([
      '/redirect bytes=30000-',
      '/file bytes=30000-',
    ]);
  });

  it('an error status appends nothing (the error page is not written into the file)', async () => {
    const file = head('missing.bin', 10);
    const r = await runCli(['http', `${base}/missing`, '-C', '-', '-o', file]);
    expect(r.code).toBe(1);
    expect(readFileSync(file).equals(BODY.subarray(0, 10))).toBe(true);
  });
});

describe('-C without -o (stdout), as curl', () => {
  it('-C N prints bytes N.. ; -C - sends no Range and prints the whole body', async () => {
    const r = await runCli(['http', `${base}/file`, '-C', '65000'], { timeoutMs: 25_000 });
    expect(r.code).toBe(0);
    expect(Buffer.from(r.stdout, 'latin1').length).toBeGreaterThan(0);
    expect(ranges.at(-1)?.range).toBe('bytes=65000-');
    const whole = await runCli(['http', `${base}/file`, '-C', '-', '--json']);
    expect(whole.code).toBe(0);
    expect(ranges.at(-1)?.range).toBeUndefined();
    expect(JSON.parse(whole.stdout)).toMatchObject({ status: 200, resumedFrom: 0, bytes: BODY.length });
  });
});

describe('-C bad inputs: exit 2, one line, nothing sent', () => {
  it.each([
    [['-C', 'abc'], /^error: invalid -C\/--continue-at 'abc': expected '-' .* or a byte offset/],
    [['-C', '-5'], /^error: invalid -C\/--continue-at '-5'/],
    [['-C', '1.5'], /^error: invalid -C\/--continue-at '1.5'/],
    [['-C', '-', '-X', 'POST'], /^error: -C\/--continue-at resumes downloads: it needs GET, not POST/],
    [['-C', '-', '-H', 'Range: bytes=1-'], /^error: -C\/--continue-at sends its own Range header/],
    [['-C', '-', '-o', '/dev/null'], /^error: -C\/--continue-at appends to a regular file/],
    [['-C', '-', '-n', '3'], /^error: -C\/--continue-at cannot be used in load mode/],
  ])('%j', async (args, message) => {
    const r = await runCli(['http', `${base}/file`, ...args]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(
      r.stderr
        .trim()
        .split('\n')
        .filter((l) => l.startsWith('error:')),
    ).toHaveLength(1);
    expect(ranges).toHaveLength(0);
  });
});

describe('-C against `comms-cli serve http` (/bytes/:n honours Range)', () => {
  it('resumes, then reports the file complete (416)', async () => {
    const serve = startCli(['serve', 'http', '--port', '0']);
    try {
      const url = `${(await serve.waitFor(/^(http:\/\/\S+)\n/))[1] ?? ''}/bytes/100000`;
      const file = join(tmp, 'serve.bin');
      writeFileSync(file, Buffer.alloc(30000, 'x'));
      const r = await runCli(['http', url, '-C', '-', '-o', file, '--json']);
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ status: 206, resumedFrom: 30000, bytes: 70000 });
      expect(readFileSync(file).equals(Buffer.alloc(100000, 'x'))).toBe(true);
      const again = await runCli(['http', url, '-C', '-', '-o', file]);
      expect(again.code).toBe(0);
      expect(again.stderr).toMatch(/416 Range Not Satisfiable \(already complete/);
    } finally {
      serve.kill('SIGINT');
      await serve.exited;
      killSurvivors();
    }
  });
});
