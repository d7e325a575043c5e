import { rmSync } from 'node:fs';
import { createSecureServer, type Http2SecureServer, type Http2ServerResponse } from 'node:http2';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { makeCerts, type TestCerts } from '../kit/certs.js';
import { listen } from '../kit/listen.js';
import { lastJson } from '../kit/ndjson.js';
import { killSurvivors, runCli } from '../kit/spawn-cli.js';

/**
 * An h2 peer that holds every answer until `gate` requests are in flight at once (or 3 s have
 * passed), then answers them all: what it records (the most streams in flight, the sessions) says how
 * the client spread its calls, with no timing in the assertions.
 */
let certs: TestCerts;
let server: Http2SecureServer;
let url: string;
let gate = 1;
let held: Array<{ res: Http2ServerResponse; timer: NodeJS.Timeout }> = [];
let inFlight = 0;
let maxInFlight = 0;
let sessions = 0;
let requests = 0;
let methods = new Set<string>();

function release(): void {
  const now = held;
  held = [];
  for (const h of now) {
    clearTimeout(h.timer);
    h.res.end('ok');
  }
}

beforeAll(async () => {
  certs = makeCerts();
  server = createSecureServer({ cert: certs.read(certs.serverCert), key: certs.read(certs.serverKey) });
  server.on('session', () => {
    sessions += 1;
  });
  server.on('request', (req, res) => {
    requests += 1;
    methods.add(req.method);
    inFlight += 1;
    maxInFlight = Math.max(maxInFlight, inFlight);
    res.on('close', () => {
      inFlight -= 1;
    });
    req.resume();
    req.on('end', () => {
      held.push({ res, timer: setTimeout(release, 3_000) });
      if (held.length >= gate) release();
    });
  });
  url = `https://127.0.0.1:${await listen(server)}/`;
});

beforeEach(() => {
  maxInFlight = 0;
  sessions = 0;
  requests = 0;
  methods = new Set();
});

afterAll(async () => {
  killSurvivors();
  release();
  server.close();
  rmSync(certs.dir, { recursive: true, force: true });
});

describe('load over HTTP/2 (--http2): -c streams spread over --connections', () => {
  it('-c 10 --connections 2: ten streams in flight on two connections', async () => {
    gate = 10;
    const r = await runCli([
      'http',
      'get',
      url,
      '-k',
      '--http2',
      '-n',
      '40',
      '-c',
      '10',
      '--connections',
      '2',
      '--json',
    ]);
    expect(r.code).toBe(0);
    const summary = lastJson(r.stdout);
    expect(summary).toMatchObject({ type: 'summary', requests: 40, errors: 0 });
    expect(requests).toBe(40);
    expect(maxInFlight).toBe(10);
    expect(sessions).toBe(2);
  });

  it('POST bodies multiplex too: -c 6 --connections 1 is six streams on one connection', async () => {
    gate = 6;
    const r = await runCli([
      'http',
      'post',
      url,
      '-d',
      'x=1',
      '-k',
      '--http2',
      '-n',
      '18',
      '-c',
      '6',
      '--connections',
      '1',
      '--json',
    ]);
    expect(r.code).toBe(0);
    expect(lastJson(r.stdout)).toMatchObject({ requests: 18, errors: 0 });
    expect([...methods]).toEqual(['POST']);
    expect(maxInFlight).toBe(6);
    expect(sessions).toBe(1);
  });

  it('without --connections: a connection per call in flight, as HTTP/1.1', async () => {
    gate = 4;
    const r = await runCli(['http', 'get', url, '-k', '--http2', '-n', '12', '-c', '4', '--json']);
    expect(r.code).toBe(0);
    expect(lastJson(r.stdout)).toMatchObject({ requests: 12, errors: 0 });
    expect(maxInFlight).toBe(4);
    expect(sessions).toBe(4);
  });
});
