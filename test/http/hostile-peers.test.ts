import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { createSecureServer, constants as h2 } from 'node:http2';
import { createServer as createNetServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeCerts, type TestCerts } from '../kit/certs.js';
import { listen } from '../kit/listen.js';
import { CLI, killSurvivors, runCli } from '../kit/spawn-cli.js';

/*
 * Issue 17 (HTTP part) and issue 10: comms-cli against small misbehaving servers written here.
 * Each test names the rule it checks; docs/http.md writes the rules down.
 */

const open: Array<{ close(): unknown }> = [];
afterAll(() => {
  killSurvivors();
  for (const s of open) s.close();
});

/** A raw TCP server: `answer` gets each connection once the request head arrived. */
async function rawServer(answer: (socket: Socket) => void): Promise<number> {
  const server: Server = createNetServer((socket) => {
    socket.on('error', () => {});
    let head = '';
    const onData = (d: Buffer) => {
      head += d.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      socket.off('data', onData);
      answer(socket);
    };
    socket.on('data', onData);
  });
  open.push(server);
  return listen(server);
}

describe('HTTP/1.1 framing', () => {
  it('an unsolicited 100 Continue before a valid 200 is skipped (RFC 9110 §15.2): exit 0', async () => {
    const port = await rawServer((s) => {
      s.write('HTTP/1.1 100 Continue\r\n\r\n');
      s.write('HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n');
      s.end('HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello');
    });
    const r = await runCli(['http', 'get', `http://127.0.0.1:${port}/`]);
    expect(r.stderr).toMatch(/200 OK/);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('hello');
  });

  it("-H 'Expect: 100-continue' is a usage error (exit 2), nothing sent", async () => {
    let hits = 0;
    const port = await rawServer((s) => {
      hits += 1;
      s.end('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');
    });
    const r = await runCli([
      'http',
      'post',
      `http://127.0.0.1:${port}/`,
      '-d',
      'x',
      '-H',
      'Expect: 100-continue',
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/Expect: 100-continue' is not supported/);
    expect(hits).toBe(0);
  });

  it.each([
    [['-H', 'X-A: one\r\nX-Injected: two'], /cannot contain CR, LF or NUL/],
    [['-H', 'Content-Length: 3'], /Content-Length: \.\.\.' cannot be set/],
    [['-H', 'Transfer-Encoding: chunked'], /Transfer-Encoding: \.\.\.' cannot be set/],
  ])('-H %j is a usage error (exit 2)', async (args, message) => {
    const r = await runCli(['http', 'post', 'http://127.0.0.1:9/', '-d', 'abc', ...args]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  });

  it('a complete Content-Length body then FIN (no Connection: close) is a success with a slow reader; -o keeps it', async () => {
    const size = 4_000_000;
    const port = await rawServer((s) => {
      s.write(`HTTP/1.1 200 OK\r\nContent-Length: ${size}\r\n\r\n`);
      s.end(Buffer.alloc(size, 'x'));
    });
    // A reader that does not read for a while: the server has long sent everything and its FIN.
    const child = spawn(process.execPath, [CLI, 'http', 'get', `http://127.0.0.1:${port}/`], {
      env: { ...process.env, NO_COLOR: '1' },
    });
    child.stdout.pause();
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    await new Promise((resolve) => setTimeout(resolve, 800));
    let got = 0;
    child.stdout.on('data', (d: Buffer) => (got += d.length));
    child.stdout.resume();
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(stderr).toMatch(/200 OK/);
    expect(code).toBe(0);
    expect(got).toBe(size);

    const dir = mkdtempSync(join(tmpdir(), 'comms-fin-'));
    try {
      const file = join(dir, 'download.bin');
      const r = await runCli(['http', 'get', `http://127.0.0.1:${port}/`, '-o', file]);
      expect(r.code).toBe(0);
      expect(statSync(file).size).toBe(size);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a connection dropped mid-body is exit 3 (the same code as an HTTP/2 stream reset)', async () => {
    const port = await rawServer((s) => {
      s.write('HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\npartial');
      setTimeout(() => s.destroy(), 50);
    });
    const r = await runCli(['http', 'get', `http://127.0.0.1:${port}/`, '--json']);
    expect(r.code).toBe(3);
    expect(JSON.parse(r.stdout).error.kind).toBe('connect');
  });
});

describe('HTTP/2 stream and session ends', () => {
  let certs: TestCerts;
  beforeAll(() => {
    certs = makeCerts();
  });

  it('a graceful GOAWAY (NO_ERROR) covering the in-flight stream lets the response complete: exit 0', async () => {
    const server = createSecureServer(
      { cert: certs.read(certs.serverCert), key: certs.read(certs.serverKey) },
      (req, res) => {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('first;');
        req.stream.session?.goaway(h2.NGHTTP2_NO_ERROR, req.stream.id);
        setTimeout(() => res.end('last'), 150);
      },
    );
    open.push(server);
    const port = await listen(server);
    const r = await runCli([
      'http',
      'get',
      `https://localhost:${port}/`,
      '--http2',
      '--cacert',
      certs.caCert,
    ]);
    expect(r.stderr).toMatch(/HTTP\/2 200/);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('first;last');
  });

  it('RST_STREAM mid-body is exit 3, as an HTTP/1.1 drop mid-body', async () => {
    const server = createSecureServer(
      { cert: certs.read(certs.serverCert), key: certs.read(certs.serverKey) },
      (req, res) => {
        res.writeHead(200);
        res.write('x'.repeat(100));
        setTimeout(() => req.stream.close(h2.NGHTTP2_INTERNAL_ERROR), 50);
      },
    );
    open.push(server);
    const port = await listen(server);
    const r = await runCli([
      'http',
      'get',
      `https://localhost:${port}/`,
      '--http2',
      '--cacert',
      certs.caCert,
    ]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/reset the HTTP\/2 stream/);
  });
});

describe('peer text on the terminal, redirects and decoding', () => {
  it('a reason phrase with escape sequences is escaped on stderr; the body on stdout stays byte-exact', async () => {
    const evil = 'OK\u001b]0;owned\u0007\u001b[2J';
    const port = await rawServer((s) => {
      s.end(`HTTP/1.1 500 ${evil}\r\nContent-Length: 7\r\nConnection: close\r\n\r\n\u001b[1mhi\n`);
    });
    const r = await runCli(['http', 'get', `http://127.0.0.1:${port}/`, '-i']);
    expect(r.code).toBe(1);
    expect(r.stderr).not.toContain('\u001b');
    expect(r.stderr).not.toContain('\u0007');
    expect(r.stderr).toContain('\\u001b]0;owned\\u0007\\u001b[2J');
    expect(r.stdout).toBe('\u001b[1mhi\n');
  });

  it('a redirect to file:// is refused naming the Location (exit 1)', async () => {
    const server = createServer((_req, res) => res.writeHead(302, { location: 'file:///etc/passwd' }).end());
    open.push(server);
    const port = await listen(server);
    const r = await runCli(['http', 'get', `http://127.0.0.1:${port}/`, '-L']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/redirect to a file: URL refused: Location: file:\/\/\/etc\/passwd/);
  });

  it('a broken gzip body names the URL and --no-decompress; --no-decompress gets the raw bytes', async () => {
    const raw = Buffer.concat([gzipSync('hello world').subarray(0, 12), Buffer.from('garbage!')]);
    const server = createServer((_req, res) => res.writeHead(200, { 'content-encoding': 'gzip' }).end(raw));
    open.push(server);
    const port = await listen(server);
    const url = `http://127.0.0.1:${port}/broken`;
    const r = await runCli(['http', 'get', url, '--json']);
    expect(r.code).toBe(1);
    const error = JSON.parse(r.stdout).error;
    expect(error.message).toContain(url);
    expect(error.message).toMatch(/could not decode the gzip body/);
    expect(error.hint).toMatch(/--no-decompress/);
    const rawRun = await runCli(['http', 'get', url, '--no-decompress', '-o', '-']);
    expect(rawRun.code).toBe(0);
    expect(Buffer.from(rawRun.stdout, 'latin1').length).toBeGreaterThan(0);
  });

  it('-v -L shows every intermediate hop: status and Location', async () => {
    const server = createServer((req, res) => {
      if (req.url === '/a') res.writeHead(301, { location: '/b' }).end();
      else if (req.url === '/b') res.writeHead(302, { location: '/c' }).end();
      else res.end('done');
    });
    open.push(server);
    const port = await listen(server);
    const r = await runCli(['http', 'get', `http://127.0.0.1:${port}/a`, '-L', '-v']);
    expect(r.code).toBe(0);
    const hops = r.stderr.split('\n').filter((l) => /^< (HTTP|location)|^> GET/.test(l));
    expect(hops).toEqual([
      `> GET http://127.0.0.1:${port}/a`,
      '< HTTP/1.1 301 Moved Permanently',
      '< location: /b',
      `> GET http://127.0.0.1:${port}/b`,
      '< HTTP/1.1 302 Found',
      '< location: /c',
      `> GET http://127.0.0.1:${port}/c`,
      '< HTTP/1.1 200 OK',
    ]);
  });
});
