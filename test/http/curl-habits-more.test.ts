import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { createSecureServer } from 'node:http2';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatNetscape, parseNetscape } from '../../src/transports/http/cookies.js';
import { makeCerts } from '../kit/certs.js';
import { listen } from '../kit/listen.js';
import { CLI, killSurvivors, runCli } from '../kit/spawn-cli.js';

/** What the server saw of one request. */
interface Seen {
  url: string;
  headers: IncomingMessage['headers'];
}

let server: Server;
let port: number;
let base: string;
let tmp: string;
const seen: Seen[] = [];
const execFileAsync = promisify(execFile);

function last(): Seen {
  const s = seen.at(-1);
  if (!s) throw new Error('the server saw no request');
  return s;
}

/**
 * A node:http peer: `/login` answers 302 to `/home` with cookies (one HttpOnly session cookie, one
 * with Max-Age, one for /api only, one Secure); `/fail` answers 500 with a cookie; the rest 200 `ok`.
 */
function startServer(): Server {
  return createServer((req, res) => {
    seen.push({ url: req.url ?? '', headers: req.headers });
    if (req.url === '/login') {
      res.writeHead(302, {
        location: '/home',
        'set-cookie': [
          'sid=s3cr3t-sid; Path=/; HttpOnly',
          'pref=dark; Max-Age=3600',
          'scoped=1; Path=/api',
          'sec=1; Secure',
        ],
      });
      res.end();
      return;
    }
    if (req.url === '/fail') {
      res.writeHead(500, { 'set-cookie': 'after=fail' }).end('no');
      return;
    }
    if (req.url === '/offsite') {
      res.writeHead(302, { location: `http://localhost:${port}/landed` }).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
  });
}

/** The real curl (installed on this machine); async, as the peer is in this process. */
async function curl(args: string[]): Promise<string> {
  const { stdout } = await execFileAsync('curl', ['-sS', '--max-time', '30', ...args], { encoding: 'utf8' });
  return stdout;
}

/** name=value pairs of a Cookie header, sorted (the order of equal-length paths is not part of the contract). */
function cookiesOf(s: Seen): string[] {
  return String(s.headers.cookie ?? '')
    .split(/;\s*/)
    .filter(Boolean)
    .sort();
}

beforeAll(async () => {
  server = startServer();
  port = await listen(server);
  base = `http://127.0.0.1:${port}`;
  tmp = mkdtempSync(join(tmpdir(), 'comms-curl-habits-more-'));
});

afterAll(async () => {
  killSurvivors();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  rmSync(tmp, { recursive: true, force: true });
});

describe('cookies: -b/--cookie and --cookie-jar', () => {
  it('reads and writes the Netscape format (HttpOnly prefix, subdomain flag, session cookies)', () => {
    const text = [
      '# Netscape HTTP Cookie File',
      '',
      '.example.test\tTRUE\t/\tFALSE\t0\tdom\t1',
      '#HttpOnly_host.test\tFALSE\t/p\tTRUE\t2000000000\tsid\tx y',
      'short.test\tFALSE\t/\tFALSE\t0\tempty',
      'broken line',
    ].join('\n');
    const cookies = parseNetscape(text);
    expect(cookies).toEqual([
      {
        domain: 'example.test',
        includeSubdomains: true,
        path: '/',
        secure: false,
        expires: 0,
        name: 'dom',
        value: '1',
        httpOnly: false,
      },
      {
        domain: 'host.test',
        includeSubdomains: false,
        path: '/p',
        secure: true,
        expires: 2000000000,
        name: 'sid',
        value: 'x y',
        httpOnly: true,
      },
      {
        domain: 'short.test',
        includeSubdomains: false,
        path: '/',
        secure: false,
        expires: 0,
        name: 'empty',
        value: '',
        httpOnly: false,
      },
    ]);
    expect(parseNetscape(formatNetscape(cookies))).toEqual(cookies);
    expect(formatNetscape(cookies)).toContain('#HttpOnly_host.test\tFALSE\t/p\tTRUE\t2000000000\tsid\tx y\n');
    expect(formatNetscape(cookies)).toContain('.example.test\tTRUE\t/\tFALSE\t0\tdom\t1\n');
  });

  it('keeps Set-Cookie of a 302 for the next -L hop (path and Secure rules), and writes the jar curl reads', async () => {
    const jar = join(tmp, 'ours.txt');
    const r = await runCli(['http', 'get', `${base}/login`, '-L', '--cookie-jar', jar]);
    expect(r.code).toBe(0);
    // /home gets the cookies for /, not the /api one. The Secure one goes too: a loopback host
    // (localhost, 127.0.0.1, ::1) counts as a secure context, as in curl 7.88 and browsers.
    expect(last().url).toBe('/home');
    expect(cookiesOf(last())).toEqual(['pref=dark', 'sec=1', 'sid=s3cr3t-sid']);
    const written = readFileSync(jar, 'utf8');
    expect(written).toMatch(/^# Netscape HTTP Cookie File\n/);
    expect(written).toContain(`#HttpOnly_127.0.0.1\tFALSE\t/\tFALSE\t0\tsid\ts3cr3t-sid\n`);
    expect(written).toMatch(/\n127\.0\.0\.1\tFALSE\t\/api\tFALSE\t0\tscoped\t1\n/);
    expect(written).toMatch(/\n127\.0\.0\.1\tFALSE\t\/\tFALSE\t\d{10}\tpref\tdark\n/);
    expect(written).toMatch(/\n127\.0\.0\.1\tFALSE\t\/\tTRUE\t0\tsec\t1\n/);
    // The real curl reads our jar: it sends /api's cookie to /api only.
    await curl(['-b', jar, `${base}/api/x`]);
    expect(cookiesOf(last())).toEqual(['pref=dark', 'scoped=1', 'sec=1', 'sid=s3cr3t-sid']);
    await curl(['-b', jar, `${base}/x`]);
    expect(cookiesOf(last())).toEqual(['pref=dark', 'sec=1', 'sid=s3cr3t-sid']);
  });

  it('reads the jar the real curl wrote (-b FILE), with the same matching', async () => {
    const jar = join(tmp, 'curls.txt');
    await curl(['-L', '-c', jar, `${base}/login`]);
    expect(readFileSync(jar, 'utf8')).toContain('generated by libcurl');
    expect((await runCli(['http', 'get', `${base}/api/v1`, '-b', jar])).code).toBe(0);
    expect(cookiesOf(last())).toEqual(['pref=dark', 'scoped=1', 'sec=1', 'sid=s3cr3t-sid']);
    expect((await runCli(['http', 'get', `${base}/other`, '-b', jar])).code).toBe(0);
    expect(cookiesOf(last())).toEqual(['pref=dark', 'sec=1', 'sid=s3cr3t-sid']);
  });

  it('drops expired cookies and other hosts’ cookies from a file', async () => {
    const file = join(tmp, 'mixed.txt');
    writeFileSync(
      file,
      formatNetscape([
        {
          domain: '127.0.0.1',
          includeSubdomains: false,
          path: '/',
          secure: false,
          expires: 0,
          name: 'live',
          value: '1',
          httpOnly: false,
        },
        {
          domain: '127.0.0.1',
          includeSubdomains: false,
          path: '/',
          secure: false,
          expires: 1000,
          name: 'old',
          value: '1',
          httpOnly: false,
        },
        {
          domain: 'elsewhere.test',
          includeSubdomains: true,
          path: '/',
          secure: false,
          expires: 0,
          name: 'far',
          value: '1',
          httpOnly: false,
        },
      ]),
    );
    const jar = join(tmp, 'mixed-out.txt');
    expect((await runCli(['http', 'get', `${base}/m`, '-b', file, '--cookie-jar', jar])).code).toBe(0);
    expect(cookiesOf(last())).toEqual(['live=1']);
    const back = parseNetscape(readFileSync(jar, 'utf8'))
      .map((c) => c.name)
      .sort();
    expect(back).toEqual(['far', 'live']);
  });

  it("-b 'a=b; c=d' is a literal Cookie header, kept on the same origin only across -L", async () => {
    expect((await runCli(['http', 'get', `${base}/lit`, '-b', 'a=b; c=d'])).code).toBe(0);
    expect(last().headers.cookie).toBe('a=b; c=d');
    expect((await runCli(['http', 'get', `${base}/offsite`, '-L', '-b', 'a=b'])).code).toBe(0);
    expect(last().url).toBe('/landed');
    expect(last().headers.cookie).toBeUndefined();
  });

  it('writes the jar after a failed call too (curl does), and -b jar --cookie-jar jar starts from nothing', async () => {
    const jar = join(tmp, 'fresh.txt');
    const r = await runCli(['http', 'get', `${base}/fail`, '-b', jar, '--cookie-jar', jar]);
    expect(r.code).toBe(1);
    expect(parseNetscape(readFileSync(jar, 'utf8')).map((c) => `${c.name}=${c.value}`)).toEqual([
      'after=fail',
    ]);
    // Nobody listening: exit 3, and the jar still holds what was read.
    const refused = await runCli(['http', 'get', 'http://127.0.0.1:1/', '-b', jar, '--cookie-jar', jar]);
    expect(refused.code).toBe(3);
    expect(parseNetscape(readFileSync(jar, 'utf8')).map((c) => c.name)).toEqual(['after']);
  });

  it('redacts cookie values in -v and --json', async () => {
    const jar = join(tmp, 'redact.txt');
    await runCli(['http', 'get', `${base}/login`, '--cookie-jar', jar]);
    const r = await runCli(['http', 'get', `${base}/login`, '-b', jar, '-v', '--json']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/> Cookie: \[REDACTED\]/);
    expect(r.stdout + r.stderr).not.toContain('s3cr3t-sid');
    expect(last().headers.cookie).toContain('sid=s3cr3t-sid');
    const lit = await runCli(['http', 'get', `${base}/lit`, '-b', 'token=s3cr3t-lit', '-v']);
    expect(lit.stderr).not.toContain('s3cr3t-lit');
  });

  it.each([
    [['-b', 'no-such-cookie-file'], /cannot read -b\/--cookie file 'no-such-cookie-file': no such file/],
    [['-b', '.'], /cannot read -b\/--cookie file '\.': is a directory/],
    [['-b', ''], /invalid -b\/--cookie ''/],
    [['-b', 'a=b\r\nX-Evil: 1'], /cookie values cannot contain CR, LF or NUL/],
    [
      ['--cookie-jar', '/no/such/dir/jar.txt'],
      /cannot write --cookie-jar file '\/no\/such\/dir\/jar.txt': no such directory/,
    ],
  ])('%j is exit 2, one line, nothing sent', async (args, message) => {
    const before = seen.length;
    const r = await runCli(['http', 'get', `${base}/never`, ...args]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.split('\n').filter((l) => l.startsWith('error:'))).toHaveLength(1);
    expect(seen.length).toBe(before);
  });
});

describe('--resolve and --connect-to', () => {
  let tls: HttpsServer;
  let tlsPort: number;
  let caFile: string;
  const tlsSeen: { host: string | undefined; sni: string | undefined; cookie: string | undefined }[] = [];

  beforeAll(async () => {
    // A certificate for made-up names only (example.test and its subdomains): reachable only when the
    // TLS name stays the URL's while the socket goes to 127.0.0.1.
    const key = join(tmp, 'example.key');
    caFile = join(tmp, 'example.crt');
    await execFileAsync('openssl', [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      key,
      '-out',
      caFile,
      '-days',
      '2',
      '-subj',
      '/CN=example.test',
      '-addext',
      'subjectAltName=DNS:example.test,DNS:*.example.test',
    ]);
    tls = createHttpsServer({ key: readFileSync(key), cert: readFileSync(caFile) }, (req, res) => {
      tlsSeen.push({
        host: req.headers.host,
        sni: (req.socket as TLSSocket).servername || undefined,
        cookie: req.headers.cookie,
      });
      if (req.url === '/set')
        res.setHeader('set-cookie', ['wide=1; Domain=example.test; Secure', 'narrow=1']);
      res.end('tls ok');
    });
    tlsPort = await listen(tls);
  });

  afterAll(async () => {
    tls.closeAllConnections();
    await new Promise((resolve) => tls.close(resolve));
  });

  it('--resolve host:port:127.0.0.1 keeps the Host header and the TLS name (SNI, certificate check)', async () => {
    const url = `https://example.test:${tlsPort}/r`;
    const r = await runCli([
      'http',
      'get',
      url,
      '--resolve',
      `example.test:${tlsPort}:127.0.0.1`,
      '--cacert',
      caFile,
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('tls ok');
    expect(tlsSeen.at(-1)).toMatchObject({ host: `example.test:${tlsPort}`, sni: 'example.test' });
    // The real curl agrees on the same command.
    expect(await curl(['--resolve', `example.test:${tlsPort}:127.0.0.1`, '--cacert', caFile, url])).toBe(
      'tls ok',
    );
    expect(tlsSeen.at(-1)).toMatchObject({ host: `example.test:${tlsPort}`, sni: 'example.test' });
  });

  it('--connect-to example.test:443:127.0.0.1:PORT reaches https://example.test/ on another port', async () => {
    const r = await runCli([
      'http',
      'get',
      'https://api.example.test/c',
      '--connect-to',
      `api.example.test:443:127.0.0.1:${tlsPort}`,
      '--cacert',
      caFile,
    ]);
    expect(r.code).toBe(0);
    expect(tlsSeen.at(-1)).toMatchObject({ host: 'api.example.test', sni: 'api.example.test' });
    // Empty fields: any host and port, the same host (resolved by --resolve after it, as curl).
    const any = await runCli([
      'http',
      'get',
      'https://b.example.test/c',
      '--connect-to',
      `::b.example.test:${tlsPort}`,
      '--resolve',
      `b.example.test:${tlsPort}:127.0.0.1`,
      '--cacert',
      caFile,
    ]);
    expect(any.code).toBe(0);
    expect(tlsSeen.at(-1)).toMatchObject({ host: 'b.example.test', sni: 'b.example.test' });
  });

  it('a plain http:// URL: --connect-to ::127.0.0.1:PORT, Host stays the URL name', async () => {
    const r = await runCli(['http', 'get', 'http://api.test/p', '--connect-to', `::127.0.0.1:${port}`]);
    expect(r.code).toBe(0);
    expect(last()).toMatchObject({ url: '/p' });
    expect(last().headers.host).toBe('api.test');
  });

  it('cookie domain rules across names: a Domain=example.test cookie goes to b.example.test, a host-only one does not', async () => {
    const jar = join(tmp, 'domains.txt');
    const routes = ['a', 'b'].flatMap((h) => ['--resolve', `${h}.example.test:${tlsPort}:127.0.0.1`]);
    const set = await runCli([
      'http',
      'get',
      `https://a.example.test:${tlsPort}/set`,
      ...routes,
      '--cacert',
      caFile,
      '--cookie-jar',
      jar,
    ]);
    expect(set.code).toBe(0);
    expect(readFileSync(jar, 'utf8')).toContain('.example.test\tTRUE\t/\tTRUE\t0\twide\t1\n');
    expect(readFileSync(jar, 'utf8')).toContain('a.example.test\tFALSE\t/\tFALSE\t0\tnarrow\t1\n');
    const other = await runCli([
      'http',
      'get',
      `https://b.example.test:${tlsPort}/get`,
      ...routes,
      '--cacert',
      caFile,
      '-b',
      jar,
    ]);
    expect(other.code).toBe(0);
    expect(tlsSeen.at(-1)?.cookie).toBe('wide=1');
    // The real curl reads the same jar the same way.
    await curl([...routes, '--cacert', caFile, '-b', jar, `https://b.example.test:${tlsPort}/get`]);
    expect(tlsSeen.at(-1)?.cookie).toBe('wide=1');
  });

  it.each([
    [['--resolve', 'example.test:80'], /invalid --resolve 'example.test:80': '' is not an IP address/],
    [['--resolve', 'example.test:http:127.0.0.1'], /invalid --resolve .*'http' is not a port/],
    [['--resolve', 'example.test:80:not-an-ip'], /'not-an-ip' is not an IP address/],
    [['--connect-to', 'a:1:b'], /invalid --connect-to 'a:1:b': expected HOST1:PORT1:HOST2:PORT2/],
    [['--connect-to', 'a:1:b:99999'], /'99999' is not a port/],
  ])('%j is exit 2, one line', async (args, message) => {
    const r = await runCli(['http', 'get', 'http://example.test/', ...args]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.split('\n').filter((l) => l.startsWith('error:'))).toHaveLength(1);
  });
});

describe('HTTP/2 over TLS by default (ALPN), --http1.1 to force 1.1', () => {
  it('a server that offers h2 gets HTTP/2 without --http2; --http1.1 gets HTTP/1.1; timing phases stay sane', async () => {
    const certs = makeCerts();
    const h2 = createSecureServer(
      { cert: certs.read(certs.serverCert), key: certs.read(certs.serverKey), allowHTTP1: true },
      (req, res) => res.end(`v${req.httpVersion}`),
    );
    const h2Port = await listen(h2);
    try {
      const url = `https://localhost:${h2Port}/`;
      const r = await runCli(['http', 'get', url, '--cacert', certs.caCert, '--json']);
      expect(r.code).toBe(0);
      const j = JSON.parse(r.stdout);
      expect(j).toMatchObject({ httpVersion: 'HTTP/2', body: 'v2.0' });
      // A new h2 connection measures its phases like an HTTP/1.1 one.
      expect(j.timing.connect).toBeGreaterThanOrEqual(0);
      expect(j.timing.tls).toBeGreaterThan(0);
      expect(j.timing.firstByte).toBeGreaterThan(0);
      expect(j.timing.total).toBeGreaterThanOrEqual(j.timing.firstByte);
      const w = await runCli([
        'http',
        'get',
        url,
        '--cacert',
        certs.caCert,
        '-w',
        '%{http_code} %{time_appconnect}\n',
        '-o',
        '/dev/null',
      ]);
      expect(w.code).toBe(0);
      expect(w.stdout).toMatch(/^200 0\.\d+\n$/);
      const one = await runCli(['http', 'get', url, '--cacert', certs.caCert, '--json', '--http1.1']);
      expect(one.code).toBe(0);
      expect(JSON.parse(one.stdout)).toMatchObject({ httpVersion: 'HTTP/1.1', body: 'v1.1' });
      // The real curl negotiates the same by default.
      expect(await curl(['--cacert', certs.caCert, url])).toBe('v2.0');
    } finally {
      h2.close();
      rmSync(certs.dir, { recursive: true, force: true });
    }
  });

  it('--http2 with --http1.1 is exit 2', async () => {
    const r = await runCli(['http', 'get', 'https://localhost:1/', '--http2', '--http1.1']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--http2 and --http1.1 cannot both be given/);
  });
});

describe('--digest -u user:password (RFC 7616)', () => {
  let digestServer: Server;
  let digestBase: string;
  const asked: { url: string; auth: string | undefined }[] = [];

  /** A peer that challenges with the algorithm in the path (/md5, /sha256) and checks the answer itself. */
  function verify(req: IncomingMessage, algorithm: string, nonce: string): boolean {
    const auth = req.headers.authorization ?? '';
    if (!auth.startsWith('Digest ')) return false;
    const p: Record<string, string> = {};
    for (const m of auth.slice(7).matchAll(/(\w+)=(?:"([^"]*)"|([^\s,]+))/g))
      p[m[1] ?? ''] = m[2] ?? m[3] ?? '';
    const h = (s: string) =>
      createHash(algorithm === 'SHA-256' ? 'sha256' : 'md5')
        .update(s)
        .digest('hex');
    const ha1 = h(`alice:test-realm:pa ss:word`);
    const ha2 = h(`${req.method}:${req.url}`);
    const expected = h(`${ha1}:${nonce}:${p.nc}:${p.cnonce}:auth:${ha2}`);
    return (
      p.username === 'alice' &&
      p.realm === 'test-realm' &&
      p.nonce === nonce &&
      p.uri === req.url &&
      p.qop === 'auth' &&
      p.opaque === 'op4que' &&
      p.algorithm === algorithm &&
      p.response === expected
    );
  }

  beforeAll(async () => {
    digestServer = createServer((req, res) => {
      asked.push({ url: req.url ?? '', auth: req.headers.authorization });
      const algorithm = req.url?.startsWith('/sha256') ? 'SHA-256' : 'MD5';
      const nonce = 'n0nce-fixed-for-the-test';
      if (verify(req, algorithm, nonce)) {
        res.end(`welcome ${algorithm}`);
        return;
      }
      res
        .writeHead(401, {
          'www-authenticate': `Digest realm="test-realm", qop="auth", algorithm=${algorithm}, nonce="${nonce}", opaque="op4que"`,
        })
        .end('who are you');
    });
    digestBase = `http://127.0.0.1:${await listen(digestServer)}`;
  });

  afterAll(async () => {
    digestServer.closeAllConnections();
    await new Promise((resolve) => digestServer.close(resolve));
  });

  it.each([
    ['md5', 'MD5'],
    ['sha256', 'SHA-256'],
  ])('answers a %s challenge once (the peer verifies it)', async (path, algorithm) => {
    const before = asked.length;
    const r = await runCli([
      'http',
      'get',
      `${digestBase}/${path}/x?q=1`,
      '--digest',
      '-u',
      'alice:pa ss:word',
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`welcome ${algorithm}`);
    const mine = asked.slice(before);
    expect(mine).toHaveLength(2);
    expect(mine[0]?.auth).toBeUndefined();
    expect(mine[1]?.auth).toMatch(/^Digest /);
    // The same peer accepts the real curl's answer (a check of the peer itself).
    expect(await curl(['--digest', '-u', 'alice:pa ss:word', `${digestBase}/${path}/y`])).toBe(
      `welcome ${algorithm}`,
    );
  });

  it('a wrong password: one answer, then the 401 stands (exit 1); the header is redacted in -v', async () => {
    const before = asked.length;
    const r = await runCli(['http', 'get', `${digestBase}/sha256/z`, '--digest', '-u', 'alice:wrong', '-v']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/HTTP 401/);
    expect(asked.length - before).toBe(2);
    expect(r.stderr).not.toContain('wrong');
  });

  it('--digest without -u is exit 2', async () => {
    const r = await runCli(['http', 'get', `${digestBase}/md5`, '--digest']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--digest needs credentials/);
  });
});

describe('-u user without a password', () => {
  const basicOf = (s: Seen) =>
    Buffer.from(String(s.headers.authorization ?? '').replace(/^Basic /, ''), 'base64').toString('utf8');

  it('asks on a terminal (stderr prompt, nothing echoed) and sends what was typed', async () => {
    // `script` gives the CLI a real pseudo-terminal; the password is typed once the prompt shows.
    const cmd = `${process.execPath} ${CLI} http get ${base}/typed -u alice`;
    const child = spawn('script', ['-qec', cmd, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let screen = '';
    let typed = false;
    child.stdout.on('data', (c: Buffer) => {
      screen += c.toString('utf8');
      if (!typed && screen.includes("Enter host password for user 'alice':")) {
        typed = true;
        child.stdin.write('se cret\r');
      }
    });
    const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
    expect(code).toBe(0);
    expect(last().url).toBe('/typed');
    expect(basicOf(last())).toBe('alice:se cret');
    expect(screen).not.toContain('se cret');
  });

  it('without a terminal: exit 2 saying a password is needed, nothing sent', async () => {
    const before = seen.length;
    const r = await runCli(['http', 'get', `${base}/none`, '-u', 'alice']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/-u 'alice' has no password and there is no terminal to ask for one/);
    expect(seen.length).toBe(before);
  });

  it("-u 'alice:' sends an empty password, as curl", async () => {
    expect((await runCli(['http', 'get', `${base}/empty`, '-u', 'alice:'])).code).toBe(0);
    expect(basicOf(last())).toBe('alice:');
  });
});

describe("-s/--silent and -S/--show-error (curl's -sS)", () => {
  it('-s prints the body and no status line; the same request without it prints the status line', async () => {
    const loud = await runCli(['http', 'get', `${base}/plain`]);
    expect(loud.code).toBe(0);
    expect(loud.stdout).toBe('ok');
    expect(loud.stderr).toMatch(/^HTTP\/1\.1 200 OK/);
    const quiet = await runCli(['http', 'get', `${base}/plain`, '-s']);
    expect(quiet.code).toBe(0);
    expect(quiet.stdout).toBe('ok');
    expect(quiet.stderr).toBe('');
  });

  it("`-s -o /dev/null -w '%{http_code}\\n'` prints what the real curl prints", async () => {
    const args = ['-s', '-o', '/dev/null', '-w', '%{http_code}\\n', `${base}/code`];
    const r = await runCli(['http', ...args]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('200\n');
    expect(await curl(args)).toBe(r.stdout);
  });

  it('-sS still prints errors: an HTTP 500 (exit 1) and a refused connection (exit 3), one line each', async () => {
    const failed = await runCli(['http', 'get', `${base}/fail`, '-sS']);
    expect(failed.code).toBe(1);
    expect(failed.stderr.trim().split('\n')).toHaveLength(1);
    expect(failed.stderr).toMatch(/^error: .*500/);
    const refused = await runCli(['http', 'get', 'http://127.0.0.1:1/', '-s', '-S']);
    expect(refused.code).toBe(3);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toMatch(/^error: connection refused/);
  });
});

describe('-o with no usable temp directory', () => {
  it('TMPDIR that does not exist: the warm-up does without it, the file is written, exit 0', async () => {
    const file = join(tmp, 'no-tmpdir.txt');
    const r = await runCli(['http', 'get', `${base}/no-tmpdir`, '-o', file], {
      env: { TMPDIR: join(tmp, 'does-not-exist') },
    });
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(file, 'utf8')).toBe('ok');
  });
});
