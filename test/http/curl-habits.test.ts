import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseHttpUrl } from '../../src/transports/http/commands/request.js';
import { parseSseUrl } from '../../src/transports/sse/commands/stream.js';
import { parseWsUrl } from '../../src/transports/ws/commands/session.js';
import { listen } from '../kit/listen.js';
import { serveHttp } from '../kit/serve.js';
import { killSurvivors, runCli, startCli } from '../kit/spawn-cli.js';

/** What the recording server saw of one request. */
interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  rawHeaders: string[];
  body: Buffer;
}

let server: Server;
let port: number;
let base: string;
let tmp: string;
const seen: Seen[] = [];
const execFileAsync = promisify(execFile);

/** The last request the recording server saw. */
function last(): Seen {
  const s = seen.at(-1);
  if (!s) throw new Error('the server saw no request');
  return s;
}

/** Big uploads: the bytes are counted, not kept (the first 4 KiB are); the answer waits for `hold` (if set). */
const big = { bytes: 0, hold: undefined as (() => Promise<void>) | undefined };

/**
 * A node:http peer that records every request (method, headers as sent, body bytes) and answers
 * per path: most paths 200 `ok`; `/big` counts the body instead of keeping it.
 */
function startRecorder(): Server {
  return createServer((req, res) => {
    if (req.url?.startsWith('/big')) {
      let bytes = 0;
      let head = Buffer.alloc(0);
      req.on('data', (c: Buffer) => {
        bytes += c.length;
        if (head.length < 4096) head = Buffer.concat([head, c]).subarray(0, 4096);
      });
      req.on('end', async () => {
        big.bytes = bytes;
        seen.push({
          method: req.method ?? '',
          url: req.url ?? '',
          headers: req.headers,
          rawHeaders: req.rawHeaders,
          body: head,
        });
        await big.hold?.();
        res.writeHead(200).end('ok');
      });
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        rawHeaders: req.rawHeaders,
        body: Buffer.concat(chunks),
      });
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
  });
}

/** The multipart body the server received, parsed by undici's own parser (the global Response). */
async function formOf(s: Seen): Promise<FormData> {
  return new Response(s.body, { headers: { 'content-type': String(s.headers['content-type']) } }).formData();
}

/** The peak resident memory of a live process, from /proc (Linux), in bytes. */
function peakRss(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? Number.NaN) * 1024;
}

/** Run the real curl (installed on this machine) and return its stdout; async, as the peer is in this process. */
async function curl(args: string[]): Promise<string> {
  const { stdout } = await execFileAsync('curl', ['-sS', '--max-time', '30', ...args], { encoding: 'utf8' });
  return stdout;
}

beforeAll(async () => {
  server = startRecorder();
  port = await listen(server);
  base = `http://127.0.0.1:${port}`;
  tmp = mkdtempSync(join(tmpdir(), 'comms-curl-habits-'));
});

afterAll(async () => {
  killSurvivors();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  rmSync(tmp, { recursive: true, force: true });
});

describe('any method, and -X', () => {
  it('sends any method token as the first argument (PURGE), upper-cased', async () => {
    const r = await runCli(['http', 'purge', `${base}/cache/item`]);
    expect(r.code).toBe(0);
    expect(last()).toMatchObject({ method: 'PURGE', url: '/cache/item' });
  });

  it('-X METHOD with the URL alone, as curl; the method is sent as given', async () => {
    const r = await runCli(['http', '-X', 'PROPFIND', `${base}/dav`, '--json']);
    expect(r.code).toBe(0);
    expect(last().method).toBe('PROPFIND');
    expect(JSON.parse(r.stdout)).toMatchObject({ operation: 'PROPFIND', status: 200 });
  });

  it('the URL alone is GET, and POST when a body is given (as curl)', async () => {
    expect((await runCli(['http', `${base}/a`])).code).toBe(0);
    expect(last()).toMatchObject({ method: 'GET', url: '/a' });
    expect((await runCli(['http', `${base}/b`, '-d', 'x=1'])).code).toBe(0);
    expect(last()).toMatchObject({ method: 'POST', url: '/b' });
    expect(last().body.toString()).toBe('x=1');
  });

  it('-X with the same method as the first argument is fine', async () => {
    const r = await runCli(['http', 'put', `${base}/same`, '-X', 'PUT', '-d', 'v']);
    expect(r.code).toBe(0);
    expect(last().method).toBe('PUT');
  });

  it.each([
    [['http', 'g@t', 'http://127.0.0.1:1/'], /invalid HTTP method 'g@t'/],
    [['http', '-X', 'BAD METHOD', 'http://127.0.0.1:1/'], /invalid HTTP method -X 'BAD METHOD'/],
    [['http', 'get', 'http://127.0.0.1:1/', '-X', 'DELETE'], /the method is given twice/],
    [['http', 'connect', 'http://127.0.0.1:1/'], /method 'connect' is not supported/],
    [['http', 'PURGE'], /missing required argument 'url'/],
  ])('%j is exit 2, one line, nothing sent', async (args, message) => {
    const before = seen.length;
    const r = await runCli(args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.split('\n').filter((l) => l.startsWith('error:'))).toHaveLength(1);
    expect(seen.length).toBe(before);
  });
});

describe('URLs without a scheme', () => {
  it('parses localhost:8080/x and :8080/x as http://, and ws:// for ws', () => {
    expect(parseHttpUrl('localhost:8080/x').href).toBe('http://localhost:8080/x');
    expect(parseHttpUrl(':8080/x?a=1').href).toBe('http://localhost:8080/x?a=1');
    expect(parseHttpUrl(':/x').href).toBe('http://localhost/x');
    expect(parseHttpUrl(':8080').href).toBe('http://localhost:8080/');
    expect(parseHttpUrl('example.test/p').href).toBe('http://example.test/p');
    expect(parseHttpUrl('[::1]:9/p').href).toBe('http://[::1]:9/p');
    expect(parseHttpUrl('https://a.test/').href).toBe('https://a.test/');
    expect(parseSseUrl('localhost:8080/sse').href).toBe('http://localhost:8080/sse');
    expect(parseWsUrl('localhost:8080/echo').href).toBe('ws://localhost:8080/echo');
    expect(parseWsUrl(':8080/echo').href).toBe('ws://localhost:8080/echo');
  });

  it('keeps the messages of a bad URL or scheme', () => {
    expect(() => parseHttpUrl('not a url')).toThrow(/invalid URL 'not a url'/);
    expect(() => parseHttpUrl('ftp://h/x')).toThrow(/unsupported URL scheme 'ftp:'/);
    expect(() => parseWsUrl('http://h/x')).toThrow(/unsupported URL scheme 'http:'/);
    expect(() => parseWsUrl('ws://h/x#frag')).toThrow(/no #fragment/);
    expect(() => parseSseUrl('ws://h/x')).toThrow(/unsupported URL scheme 'ws:'/);
  });

  it('http 127.0.0.1:PORT/x and http :PORT/x reach the server over http://', async () => {
    expect((await runCli(['http', 'get', `127.0.0.1:${port}/plain`])).code).toBe(0);
    expect(last()).toMatchObject({ method: 'GET', url: '/plain' });
    // HTTPie's :PORT is localhost; the recorder listens on 127.0.0.1, which localhost resolves to here.
    const r = await runCli(['http', `:${port}/httpie?q=1`, '--json']);
    expect(r.code).toBe(0);
    expect(last()).toMatchObject({ url: '/httpie?q=1' });
    expect(JSON.parse(r.stdout).target).toBe(`http://localhost:${port}/httpie?q=1`);
  });

  it('sse and ws take scheme-less URLs too', async () => {
    const http = await serveHttp();
    const ws = startCli(['serve', 'ws', '--port', '0']);
    try {
      const sseUrl = http.url.replace(/^http:\/\//, '');
      const s = await runCli(['sse', `${sseUrl}/sse?count=2&every=10ms`]);
      expect(s.code).toBe(0);
      expect(s.stdout.trim().split('\n')).toHaveLength(2);
      const wsBase = ((await ws.waitFor(/^(ws:\/\/\S+)\n/))[1] ?? '').replace(/^ws:\/\//, '');
      const w = await runCli(['ws', `${wsBase}/echo`, '-m', 'hello']);
      expect(w.code).toBe(0);
      expect(w.stdout).toContain('hello');
    } finally {
      await http.stop();
      ws.kill('SIGINT');
      await ws.exited;
    }
  });
});

describe('-F multipart, --data-urlencode, -G', () => {
  it('-F name=value, name=@file (filename, guessed type), name=<file (bytes as they are), ;type= ;filename=', async () => {
    const txt = join(tmp, 'notes.txt');
    writeFileSync(txt, 'line one\nline two\n');
    const bin = join(tmp, 'blob.bin');
    writeFileSync(bin, Buffer.from([0, 1, 2, 255]));
    const r = await runCli([
      'http',
      `${base}/upload`,
      '-F',
      'name=report',
      '-F',
      `doc=@${txt}`,
      '-F',
      `raw=@${bin};type=application/x-thing;filename=renamed.dat`,
      '-F',
      `value=<${txt}`,
      '--form-string',
      'literal=@not-a-file;type=x',
    ]);
    expect(r.code).toBe(0);
    const s = last();
    expect(s.method).toBe('POST');
    expect(String(s.headers['content-type'])).toMatch(/^multipart\/form-data; boundary=/);
    expect(Number(s.headers['content-length'])).toBe(s.body.length); // length known in advance, not chunked
    const form = await formOf(s);
    expect(form.get('name')).toBe('report');
    const doc = form.get('doc') as File;
    expect(doc.name).toBe('notes.txt');
    expect(doc.type).toBe('text/plain');
    expect(await doc.text()).toBe('line one\nline two\n');
    const raw = form.get('raw') as File;
    expect(raw.name).toBe('renamed.dat');
    expect(raw.type).toBe('application/x-thing');
    expect([...new Uint8Array(await raw.arrayBuffer())]).toEqual([0, 1, 2, 255]);
    expect(form.get('literal')).toBe('@not-a-file;type=x');
    // <file is a value (no filename) with the file's bytes unchanged: LF stays LF.
    expect(s.body.toString('latin1')).toContain(
      'name="value"\r\nContent-Type: text/plain\r\n\r\nline one\nline two\n\r\n',
    );
  });

  it('-F name=@- uploads stdin, named "-" as curl names it', async () => {
    const r = await runCli(['http', 'put', `${base}/stdin`, '-F', 'f=@-'], { input: 'from stdin' });
    expect(r.code).toBe(0);
    const f = (await formOf(last())).get('f') as File;
    expect(f.name).toBe('-');
    expect(await f.text()).toBe('from stdin');
  });

  it('the same multipart parts reach the server as with curl -F', async () => {
    const txt = join(tmp, 'same.txt');
    writeFileSync(txt, 'same bytes\n');
    const args = ['-F', 'a=1', '-F', `f=@${txt}`, '-F', `v=<${txt}`];
    await runCli(['http', `${base}/ours`, ...args]);
    const ours = await formOf(last());
    await curl([`${base}/theirs`, ...args]);
    const theirs = await formOf(last());
    for (const form of [ours, theirs]) {
      expect(form.get('a')).toBe('1');
      expect(await (form.get('f') as File).text()).toBe('same bytes\n');
      expect((form.get('f') as File).name).toBe('same.txt');
    }
    expect(String(ours.get('v') instanceof File ? await (ours.get('v') as File).text() : ours.get('v'))).toBe(
      String(theirs.get('v')),
    );
  });

  it('streams a large file part from disk: the upload is whole, memory stays far below its size', async () => {
    const file = join(tmp, 'large.bin');
    const size = 256 * 1024 * 1024;
    writeFileSync(file, '');
    truncateSync(file, size); // sparse: no disk used, reads as zeros
    const proc = startCli([
      'http',
      `${base}/big`,
      '-F',
      `file=@${file}`,
      '-F',
      'kind=sparse',
      '--timeout',
      '5m',
    ]);
    let peak = 0;
    // The server reads the whole body, then answers only after the client's peak memory was read.
    big.hold = async () => {
      peak = peakRss(proc.child.pid ?? 0);
    };
    try {
      const { code } = await proc.exited;
      expect(code, proc.stderr()).toBe(0);
    } finally {
      big.hold = undefined;
    }
    const s = last();
    expect(Number(s.headers['content-length'])).toBe(big.bytes);
    expect(big.bytes).toBeGreaterThan(size);
    expect(s.body.toString('latin1')).toContain('filename="large.bin"');
    expect(peak).toBeGreaterThan(0);
    // Buffered, the process would hold the 256 MiB file (at least) at once.
    expect(peak).toBeLessThan(160 * 1024 * 1024);
  });

  it('--data-urlencode encodes exactly as curl does; -d and it are joined by &', async () => {
    const file = join(tmp, 'enc.txt');
    writeFileSync(file, 'a file\n');
    const args = [
      '-d',
      'raw=1',
      '--data-urlencode',
      "q=a b&c/é~!*'()",
      '--data-urlencode',
      '=x y',
      '--data-urlencode',
      `f@${file}`,
    ];
    expect((await runCli(['http', `${base}/form`, ...args])).code).toBe(0);
    const ours = last();
    expect(ours.method).toBe('POST');
    expect(ours.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(ours.body.toString()).toBe('raw=1&q=a+b%26c%2f%c3%a9~%21%2a%27%28%29&x+y&f=a+file%0a');
    await curl([`${base}/form`, ...args]);
    // The same bytes as the installed curl, whatever case its hex digits are in.
    expect(ours.body.toString().toLowerCase()).toBe(last().body.toString().toLowerCase());
  });

  it('-G sends the data as the query string of a GET (after any query already in the URL)', async () => {
    const args = ['-G', '-d', 'a=1', '--data-urlencode', 'q=x y'];
    expect((await runCli(['http', `${base}/search?page=2`, ...args])).code).toBe(0);
    expect(last()).toMatchObject({ method: 'GET', url: '/search?page=2&a=1&q=x+y' });
    expect(last().body.length).toBe(0);
    await curl([`${base}/search?page=2`, ...args]);
    expect(last()).toMatchObject({ method: 'GET', url: '/search?page=2&a=1&q=x+y' });
  });

  it.each([
    [['-F', 'novalue'], /invalid -F 'novalue': expected name=value/],
    [['-F', '=x'], /invalid -F '=x': expected name=value/],
    [['-F', 'f=@'], /needs a file name/],
    [
      ['-F', 'f=@/nonexistent/file.bin'],
      /cannot read -F file '\/nonexistent\/file.bin' \(part 'f'\): no such file/,
    ],
    [['-F', 'f=@/'], /cannot read -F file '\/' \(part 'f'\): is a directory/],
    [['-F', 'v=</nonexistent'], /cannot read -F file '\/nonexistent'/],
    [['-F', 'f=@x;type=nonsense'], /';type=nonsense' is not a media type/],
    [['-F', 'v=x;filename=a'], /;filename= is for a file part/],
    [['-F', 'a=1', '-d', 'b'], /use one kind of body/],
    [['-F', 'a=1', '-H', 'Content-Type: multipart/mixed'], /-F\/--form sets Content-Type itself/],
    [['-F', 'a=1', '-G'], /-G\/--get .* cannot send -F\/--form/],
    [['--data-urlencode', '@/nonexistent'], /cannot read --data-urlencode file '\/nonexistent'/],
  ])('%j is exit 2, one line, nothing sent', async (extra, message) => {
    const before = seen.length;
    const r = await runCli(['http', `${base}/bad`, ...extra]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.split('\n').filter((l) => l.startsWith('error:'))).toHaveLength(1);
    expect(seen.length).toBe(before);
  });
});

describe('default Accept and User-Agent', () => {
  const version = (
    JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
  ).version;

  it('sends Accept: */* and User-Agent: comms-cli/<version> by default, as curl sends its own', async () => {
    expect((await runCli(['http', `${base}/defaults`])).code).toBe(0);
    expect(last().headers.accept).toBe('*/*');
    expect(last().headers['user-agent']).toBe(`comms-cli/${version}`);
  });

  it("-H replaces them; -H 'Name:' leaves a header out and -H 'Name;' sends it empty, as curl", async () => {
    const r = await runCli([
      'http',
      `${base}/override`,
      '-H',
      'Accept: application/xml',
      '-H',
      'User-Agent:',
      '-H',
      'Accept-Encoding:',
      '-H',
      'X-Empty;',
    ]);
    expect(r.code).toBe(0);
    const h = last().headers;
    expect(h.accept).toBe('application/xml');
    expect(h['user-agent']).toBeUndefined();
    expect(h['accept-encoding']).toBeUndefined();
    expect(h['x-empty']).toBe('');
  });

  it('--json-data still asks for JSON', async () => {
    expect((await runCli(['http', `${base}/j`, '--json-data', '{}'])).code).toBe(0);
    expect(last().headers.accept).toBe('application/json');
  });
});
