import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

/** The last request the recording server saw. */
function last(): Seen {
  const s = seen.at(-1);
  if (!s) throw new Error('the server saw no request');
  return s;
}

/**
 * A node:http peer that records every request (method, headers as sent, body bytes) and answers
 * per path: most paths 200 `ok`.
 */
function startRecorder(): Server {
  return createServer((req, res) => {
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
