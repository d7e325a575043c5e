import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createSecureServer, type Http2SecureServer } from 'node:http2';
import { createServer as createTlsServer } from 'node:https';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeCerts, type TestCerts } from '../kit/certs.js';
import { listen } from '../kit/listen.js';
import { runCli } from '../kit/spawn-cli.js';

/*
 * Issue 10 item 3: comms-cli's timing matches curl -w on the same request, over HTTP and HTTPS. Both
 * tools print the same variables (`-w` with curl's names), alternating runs, and the best (minimum)
 * run of each is compared: on a loaded 2-core CI machine, where other test files run beside this one,
 * a median mostly measures the scheduler, while each tool's best run is what it costs itself. The
 * issue's goal is 1 ms or 5%, met by the medians on a quiet machine (bench/RESULTS.md); the slack
 * here is wider for the noise, and still fails on the defects it guards: first-use work inside the
 * phases (a first byte 10x curl's over HTTP, 3x over HTTPS when the TLS path ran cold).
 */

const run = promisify(execFile);
const VARS = ['time_namelookup', 'time_connect', 'time_appconnect', 'time_starttransfer', 'time_total'];
const FORMAT = VARS.map((v) => `%{${v}}`).join(' ');
const ROUNDS = 9;

async function hasCurl(): Promise<boolean> {
  try {
    await run('curl', ['--version']);
    return true;
  } catch {
    return false;
  }
}

/** The -w line (the body comes first on stdout, as with curl), in ms by variable name. */
function figures(stdout: string): Record<string, number> {
  const cols = (stdout.trim().split('\n').at(-1) ?? '').split(' ').map((s) => Number(s) * 1000);
  return Object.fromEntries(VARS.map((v, i) => [v, cols[i] ?? Number.NaN]));
}

async function compare(
  url: string,
  tlsArgs: string[],
  both: string[] = [],
): Promise<{ curl: Best; ours: Best }> {
  const curlRuns: Record<string, number>[] = [];
  const ourRuns: Record<string, number>[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const c = await run('curl', ['-s', ...tlsArgs, ...both, '-w', `\n${FORMAT}\n`, url]);
    curlRuns.push(figures(c.stdout));
    const o = await runCli(['http', 'get', url, ...tlsArgs, ...both, '-w', `\\n${FORMAT}\\n`, '-q']);
    expect(o.code, o.stderr).toBe(0);
    ourRuns.push(figures(o.stdout));
  }
  return { curl: best(curlRuns), ours: best(ourRuns) };
}

type Best = (name: string) => number;
function best(runs: Record<string, number>[]): Best {
  return (name) => Math.min(...runs.map((r) => r[name] ?? Number.NaN));
}

/**
 * Within `floorMs` (plus the load's share, below) or `share` of curl's figure, whichever is larger.
 * On a quiet machine the medians agree within ~1 ms (bench/RESULTS.md); on this 2-core VM with other
 * test files running the best of 9 still differed by 14 ms at a load average of 16 and 22 ms at 20
 * (an instant HTTP server: ours 26.2 ms, curl's 3.7). comms-cli's process has used far more CPU
 * than curl's by the time it waits for the response, so the scheduler wakes it later: the bound grows
 * by 2 ms for each runnable process per core beyond one. What this still catches is first-use work
 * inside the phases on a quiet CI box (10-40 ms: a cold request path, Node's IPv6 regexp on a host
 * name, a cold TLS client).
 */
function close(ours: Best, curl: Best, name: string, floorMs: number, share = 0.25): void {
  const a = ours(name);
  const b = curl(name);
  const loaded = 2 * Math.max(0, loadavg()[0] / availableParallelism() - 1);
  expect(
    Math.abs(a - b),
    `${name}: comms-cli ${a.toFixed(3)} ms vs curl ${b.toFixed(3)} ms`,
  ).toBeLessThanOrEqual(Math.max(floorMs + loaded, b * share));
}

describe('timing matches curl -w', async () => {
  const curlAvailable = await hasCurl();
  let certs: TestCerts;
  let plain: Server;
  let secure: Server;
  let h2: Http2SecureServer;
  let httpBase: string;
  let httpsBase: string;
  let h2Base: string;
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    if (req.url === '/wait') setTimeout(() => res.end('late\n'), 100);
    else if (req.url === '/split') {
      // The head at 100 ms, the body 2 ms later (a separate read for the client, not the same segment):
      // time_total then says whether the client was free to read it when it came.
      setTimeout(() => {
        res.writeHead(200, { 'content-length': '5' }).flushHeaders();
        setTimeout(() => res.end('body\n'), 2);
      }, 100);
    } else res.end('now\n');
  };
  beforeAll(async () => {
    certs = makeCerts();
    plain = createServer(handler);
    secure = createTlsServer(
      { cert: certs.read(certs.serverCert), key: certs.read(certs.serverKey) },
      handler,
    );
    h2 = createSecureServer(
      { cert: certs.read(certs.serverCert), key: certs.read(certs.serverKey) },
      (req, res) => (req.url === '/wait' ? setTimeout(() => res.end('late\n'), 100) : res.end('now\n')),
    );
    httpBase = `http://127.0.0.1:${await listen(plain)}`;
    httpsBase = `https://127.0.0.1:${await listen(secure)}`;
    h2Base = `https://127.0.0.1:${await listen(h2)}`;
  });
  afterAll(async () => {
    for (const s of [plain, secure]) {
      s.closeAllConnections();
      await new Promise((r) => s.close(r));
    }
    await new Promise((r) => h2.close(r));
  });

  it.skipIf(!curlAvailable)(
    'HTTP, on a server that answers at once',
    async () => {
      const { curl, ours } = await compare(`${httpBase}/now`, []);
      close(ours, curl, 'time_connect', 10);
      close(ours, curl, 'time_starttransfer', 20);
      close(ours, curl, 'time_total', 20);
    },
    120_000,
  );

  // 100 ms servers: 10 ms or 25%. At a load average of ~17 curl's best TLS first byte read 142 ms
  // where ours read 120 (its handshake waits on the same starved server), so no tighter than that.
  it.skipIf(!curlAvailable)(
    'HTTP, on a server that waits 100 ms',
    async () => {
      const { curl, ours } = await compare(`${httpBase}/wait`, []);
      close(ours, curl, 'time_starttransfer', 10);
      close(ours, curl, 'time_total', 10);
      expect(ours('time_starttransfer')).toBeGreaterThanOrEqual(99);
    },
    120_000,
  );

  it.skipIf(!curlAvailable)(
    'HTTPS, on a server that answers at once (connect, TLS, first byte)',
    async () => {
      const { curl, ours } = await compare(`${httpsBase}/now`, ['--cacert', certs.caCert]);
      close(ours, curl, 'time_connect', 10);
      close(ours, curl, 'time_appconnect', 20);
      close(ours, curl, 'time_starttransfer', 20);
      close(ours, curl, 'time_total', 20);
    },
    120_000,
  );

  // -o: the body's file path (a temp file beside the target, or a device written through) used to run
  // for the first time between the head and the body, and time_total read 8-19 ms late (curl ~1 ms).
  it.skipIf(!curlAvailable)(
    '-o FILE and -o /dev/null: the body written right after its head adds what it adds for curl',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'comms-timing-o-'));
      try {
        for (const target of [join(dir, 'body.bin'), '/dev/null']) {
          const { curl, ours } = await compare(`${httpBase}/split`, [], ['-o', target]);
          const gap =
            (t: Best): Best =>
            () =>
              t('time_total') - t('time_starttransfer');
          // 12 ms: the defect was 15-19 ms on a quiet machine (module loads between head and body); what
          // is left is the file path's first run, ~2 ms quiet, and 10.7 ms above curl's with two suites
          // running side by side (load ~5).
          close(gap(ours), gap(curl), 'time_total - time_starttransfer', 12);
          expect(ours('time_starttransfer')).toBeGreaterThanOrEqual(99);
        }
        expect(readFileSync(join(dir, 'body.bin'), 'utf8')).toBe('body\n');
        // Nothing but the file itself is left beside it (no temp files from the calls or the warm-up).
        expect(readdirSync(dir)).toEqual(['body.bin']);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
    120_000,
  );

  // An h2 server: undici requires node:http2 and opens its session after the handshake, which ran
  // cold inside the first byte (~15-25 ms above curl's). 5% here, not 25%: that is the defect's size.
  it.skipIf(!curlAvailable)(
    'HTTP/2 over TLS, on a server that waits 100 ms',
    async () => {
      const { curl, ours } = await compare(`${h2Base}/wait`, ['--cacert', certs.caCert], ['--http2']);
      close(ours, curl, 'time_starttransfer', 8, 0.05);
      close(ours, curl, 'time_total', 8, 0.05);
      expect(ours('time_starttransfer')).toBeGreaterThanOrEqual(99);
    },
    120_000,
  );

  it.skipIf(!curlAvailable)(
    'HTTPS, on a server that waits 100 ms',
    async () => {
      const { curl, ours } = await compare(`${httpsBase}/wait`, ['--cacert', certs.caCert]);
      close(ours, curl, 'time_starttransfer', 10);
      close(ours, curl, 'time_total', 10);
      expect(ours('time_starttransfer')).toBeGreaterThanOrEqual(99);
    },
    120_000,
  );
});
