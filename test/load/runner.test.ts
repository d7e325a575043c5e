import { Agent, createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseValues } from '../../src/command/option.js';
import { CallPipeline, DEFAULT_RESILIENCE, type ResilienceOptions } from '../../src/core/run-call.js';
import type { AttemptContext, CallBase, Outcome, Transport, Verdict } from '../../src/core/transport.js';
import { ResponseError, UsageError } from '../../src/errors/comms-error.js';
import { type EncodedLatency, LatencyHistogram } from '../../src/load/histogram.js';
import { LOAD_OPTIONS, planFrom as planFromValues } from '../../src/load/options.js';
import { runLoad } from '../../src/load/runner.js';
import { Output } from '../../src/output/output.js';
import { ndjson } from '../kit/ndjson.js';

/*
 * The runner against a real node:http server on loopback, through a tiny Transport written here
 * (the real HTTP transport is tested end to end in test/load/http-load.test.ts).
 */

interface TinyCall extends CallBase {
  readonly path: string;
}
interface TinyReply {
  status: number;
  body: string;
}

class TinyHttp implements Transport<TinyCall, TinyReply> {
  readonly kind = 'http' as const;
  readonly agent = new Agent({ keepAlive: true, maxSockets: 64 });
  constructor(readonly base: string) {}

  attempt(call: TinyCall, ctx: AttemptContext): Promise<TinyReply> {
    return new Promise((resolve, reject) => {
      const req = request(`${this.base}${call.path}`, { agent: this.agent, signal: ctx.signal }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    });
  }

  classify(outcome: Outcome<TinyReply>): Verdict {
    if (outcome.error) return { ok: false, retryable: true, peerFault: true, error: outcome.error };
    const { status } = outcome.reply;
    if (status < 400) return { ok: true, retryable: false, peerFault: false, status };
    return {
      ok: false,
      retryable: status === 503,
      peerFault: status >= 500,
      status,
      error: new ResponseError(`HTTP ${status}`),
    };
  }

  describe(reply: TinyReply): Record<string, unknown> {
    return { body: reply.body };
  }

  async close(): Promise<void> {
    this.agent.destroy();
  }
}

/** Server behaviour per path; `pauseUntil` holds every response (a stalled server). */
const state = {
  hits: 0,
  pauseUntil: 0,
  keys: new Map<string, number>(),
  onHit: undefined as undefined | ((n: number) => void),
};
let server: Server;
let base = '';

beforeAll(async () => {
  server = createServer((req, res) => {
    state.hits += 1;
    state.onHit?.(state.hits);
    const url = new URL(req.url ?? '/', 'http://x');
    const reply = (status: number, body = 'ok') => {
      const wait = state.pauseUntil - Date.now();
      const send = () => res.writeHead(status, { 'content-type': 'text/plain' }).end(body);
      if (wait > 0) setTimeout(send, wait);
      else send();
    };
    const seq = Number(url.searchParams.get('seq') ?? '0');
    switch (url.pathname) {
      case '/ok':
        return reply(200);
      case '/fail-every-10':
        return reply(seq % 10 === 0 ? 500 : 200);
      case '/stall': {
        // The call with seq=at pauses the whole server for `ms`.
        if (seq === Number(url.searchParams.get('at')))
          state.pauseUntil = Date.now() + Number(url.searchParams.get('ms'));
        return reply(200);
      }
      case '/slow':
        setTimeout(() => res.end('slow'), 200);
        return;
      case '/503-twice': {
        const key = url.searchParams.get('key') ?? '';
        const n = (state.keys.get(key) ?? 0) + 1;
        state.keys.set(key, n);
        return reply(n <= 2 ? 503 : 200);
      }
      case '/always-503':
        return reply(503);
      default:
        return reply(404, 'no such path');
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

beforeEach(() => {
  state.hits = 0;
  state.pauseUntil = 0;
  state.keys.clear();
  state.onHit = undefined;
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  lines: Array<Record<string, unknown>>;
  summary: Record<string, unknown> & { latency: Record<string, number> };
}

async function load(
  path: (seq: number) => string,
  flags: LoadFlags,
  opts: {
    json?: boolean;
    resilience?: Partial<ResilienceOptions>;
    controller?: AbortController;
    tty?: boolean;
  } = {},
): Promise<Run> {
  const controller = opts.controller ?? new AbortController();
  const out = new PassThrough();
  const err = new PassThrough();
  let stdout = '';
  let stderr = '';
  out.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  err.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  if (opts.tty) Object.assign(err, { isTTY: true });
  const json = opts.json ?? true;
  const output = new Output(
    { json, quiet: false, verbose: false, showSecrets: false, debug: false, color: false },
    out as unknown as NodeJS.WriteStream,
    err as unknown as NodeJS.WriteStream,
  );
  const transport = new TinyHttp(base);
  const pipeline = new CallPipeline({ ...DEFAULT_RESILIENCE, ...opts.resilience }, controller.signal);
  try {
    const code = await runLoad({
      transport,
      makeCall: (seq) => ({ target: base, operation: 'GET', path: path(seq) }),
      pipeline,
      plan: planFrom(flags),
      output,
      signal: controller.signal,
      checks: [],
      replyBytes: (r) => Buffer.byteLength(r.body),
    });
    await new Promise((r) => setImmediate(r));
    const lines = ndjson(stdout);
    const summary = (lines.find((l) => l.type === 'summary') ?? {}) as Run['summary'];
    return { code, stdout, stderr, lines, summary };
  } finally {
    await transport.close();
  }
}

describe('runLoad: closed loop', () => {
  it('counts successes, errors by kind and status, bytes, and orders the percentiles', async () => {
    const r = await load((s) => `/fail-every-10?seq=${s}`, { requests: '200', concurrency: '5' });
    const s = r.summary;
    expect(s).toMatchObject({
      type: 'summary',
      transport: 'http',
      requests: 200,
      successes: 180,
      errors: 20,
      errorRate: 10,
      statuses: { '200': 180, '500': 20 },
      errorKinds: { response: 20 },
      bytes: 400,
      attempts: 200,
      retries: 0,
      shortCircuits: 0,
      mode: 'closed',
      concurrency: 5,
      ok: false,
      exit: 1,
    });
    const l = s.latency;
    expect(Object.keys(l).sort()).toEqual(['max', 'mean', 'min', 'p50', 'p90', 'p99', 'p999', 'stdev']);
    expect(l.min).toBeGreaterThan(0);
    expect(l.min).toBeLessThanOrEqual(l.p50);
    expect(l.p50).toBeLessThanOrEqual(l.p90);
    expect(l.p90).toBeLessThanOrEqual(l.p99);
    expect(l.p99).toBeLessThanOrEqual(l.p999);
    expect(l.p999).toBeLessThanOrEqual(l.max);
    expect(s.rps as number).toBeGreaterThan(0);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/20 of 200 calls failed \(response ×20\)/);
    expect(r.lines).toHaveLength(1);
    expect(state.hits).toBe(200);
  });

  it('--max-error-rate judges the errors: within it exit 0, above it exit 1 naming the figure', async () => {
    const within = await load((s) => `/fail-every-10?seq=${s}`, { requests: '100', maxErrorRate: '15' });
    expect(within.code).toBe(0);
    expect(within.summary.gates).toEqual([
      expect.objectContaining({
        flag: '--max-error-rate',
        figure: 'errorRate',
        ok: true,
        actual: 10,
        limit: 15,
      }),
    ]);
    const above = await load((s) => `/fail-every-10?seq=${s}`, { requests: '100', maxErrorRate: '5%' });
    expect(above.code).toBe(1);
    expect(above.summary.error).toEqual({
      kind: 'expectation',
      message: 'error rate 10% > --max-error-rate 5%',
    });
    expect(above.stderr).toContain('error: error rate 10% > --max-error-rate 5%');
  });

  it('latency and throughput gates fail with the missed figure named', async () => {
    const r = await load(() => '/ok', {
      requests: '50',
      expectP50: '1us',
      minRps: '100000000',
      expectP99: '1m',
    });
    expect(r.code).toBe(1);
    const gates = r.summary.gates as Array<{ figure: string; ok: boolean }>;
    expect(gates.map((g) => [g.figure, g.ok])).toEqual([
      ['p99', true],
      ['p50', false],
      ['rps', false],
    ]);
    expect(r.stderr).toMatch(/error: p50 .* > --expect-p50 1µs/);
    expect(r.stderr).toMatch(/error: throughput .* req\/s < --min-rps 100000000 req\/s/);
  });

  it('counts retries, and short-circuits when the breaker opens (exit 5 beats exit 1)', async () => {
    const retried = await load(
      (s) => `/503-twice?key=${s}`,
      { requests: '20', concurrency: '4' },
      {
        resilience: { retries: 2, backoffMs: 1, backoffMaxMs: 2 },
      },
    );
    expect(retried.summary).toMatchObject({
      requests: 20,
      successes: 20,
      attempts: 60,
      retries: 40,
      shortCircuits: 0,
    });
    expect(retried.code).toBe(0);

    state.hits = 0;
    const broken = await load(
      () => '/always-503',
      { requests: '10', concurrency: '1' },
      {
        resilience: { breaker: 3, breakerCooldownMs: 60_000 },
      },
    );
    expect(broken.summary).toMatchObject({
      requests: 10,
      errors: 10,
      shortCircuits: 7,
      errorKinds: { response: 3, breaker: 7 },
      exit: 5,
    });
    expect(broken.code).toBe(5);
    expect(state.hits).toBe(3);
  });

  it('--json-all emits one line per call, then the summary', async () => {
    const r = await load((s) => `/ok?seq=${s}`, { requests: '20', concurrency: '3', jsonAll: true });
    const calls = r.lines.filter((l) => l.type === 'call');
    expect(calls).toHaveLength(20);
    expect(calls.map((c) => c.seq).sort((a, b) => Number(a) - Number(b))).toEqual(
      Array.from({ length: 20 }, (_, i) => i + 1),
    );
    expect(calls[0]).toMatchObject({ transport: 'http', ok: true, status: 200, body: 'ok' });
    expect(typeof calls[0]?.latencyMs).toBe('number');
    expect(r.lines.at(-1)?.type).toBe('summary');
  });

  it('--warmup calls are sent but left out of the figures', async () => {
    const r = await load(() => '/ok', { requests: '20', warmup: '100ms', concurrency: '2' });
    expect(r.summary.requests).toBe(20);
    expect(r.summary.warmupMs).toBe(100);
    expect(state.hits).toBeGreaterThan(20);
  });

  it('human mode: the summary and a latency histogram on stderr, nothing on stdout', async () => {
    const r = await load((s) => `/fail-every-10?seq=${s}`, { requests: '30' }, { json: false });
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/load: GET http:\/\/127\.0\.0\.1:\d+ · 30 calls · closed loop, 10 in flight/);
    expect(r.stderr).toMatch(/30 calls in .* req\/s/);
    expect(r.stderr).toMatch(/statuses +200 ×27 · 500 ×3/);
    expect(r.stderr).toMatch(/latency +min .* p50 .* p99 .* max /);
    expect(r.stderr).toMatch(/first response: HTTP 500/);
    expect(r.stderr).toContain('█');
    expect(r.code).toBe(1);
  });
});

describe('runLoad: the totals are the per-second intervals added up', () => {
  it('a run over several seconds: requests, histogram count, max and the percentiles agree with the series', async () => {
    const r = await load(() => '/ok', { rate: '150', duration: '2300ms' });
    const s = r.summary as Record<string, unknown> & {
      requests: number;
      latency: Record<string, number>;
      histogram: EncodedLatency;
      series: { requests: number; max: number; latency: EncodedLatency }[];
    };
    expect(s.series.length).toBeGreaterThanOrEqual(2);
    expect(s.series.reduce((a, p) => a + p.requests, 0)).toBe(s.requests);
    const total = LatencyHistogram.decode(s.histogram);
    expect(total.count).toBe(s.requests);
    expect(s.latency.max).toBe(Math.max(...s.series.map((p) => p.max)));
    // The summary's percentiles are the decoded totals' (the same histogram, not an estimate).
    const rebuilt = new LatencyHistogram();
    for (const p of s.series) rebuilt.add(LatencyHistogram.decode(p.latency));
    expect(rebuilt.summary().p99).toBe(s.latency.p99);
    expect(rebuilt.summary().p50).toBe(s.latency.p50);
  });
});

describe('runLoad: a failing template or check stops the run and reports the error', () => {
  for (const [mode, flags] of [
    ['closed loop', { requests: '50', concurrency: '4' }],
    ['open loop', { requests: '50', rate: '500', concurrency: '4' }],
  ] as const) {
    it(`${mode}: makeCall throwing at call 5 rejects the run with its error, and stops sending`, async () => {
      const path = (seq: number) => {
        if (seq === 5) throw new UsageError('template {{nope}} failed at call 5');
        return '/ok';
      };
      await expect(load(path, flags)).rejects.toThrow('template {{nope}} failed at call 5');
      // The four calls before it (and at most the few already in flight) were sent, not all 50.
      expect(state.hits).toBeLessThan(10);
    });
  }
});

describe('runLoad: open loop (--rate)', () => {
  it('measures from the scheduled start, so a server stall shows in p90/p99 (coordinated omission)', async () => {
    // 200/s for 300 calls; call 50 pauses the server 500 ms: ~100 calls are due during the pause.
    const path = (s: number) => `/stall?seq=${s}&at=50&ms=500`;
    const open = await load(path, { requests: '300', rate: '200' });
    expect(open.summary).toMatchObject({ requests: 300, successes: 300, mode: 'open', rate: 200 });
    // Calls scheduled during the pause cannot finish before it ends: their latencies spread over 0-500 ms.
    expect(open.summary.latency.p90).toBeGreaterThanOrEqual(250);
    expect(open.summary.latency.p99).toBeGreaterThanOrEqual(400);

    // The same stall seen by one closed-loop worker: only one call waits, the rest are not even sent.
    const closed = await load(path, { requests: '300', concurrency: '1' });
    expect(closed.summary.latency.max).toBeGreaterThanOrEqual(400);
    expect(closed.summary.latency.p90).toBeLessThan(open.summary.latency.p90);
  });

  it('at the -c cap, a call finishing before the next is due still schedules it (no stall)', async () => {
    // One in flight, every call 20 ms, one due each 50 ms: the loop is at its cap during each call
    // and nothing is overdue when it ends. This used to wait forever after the first call.
    const r = await load((s) => `/stall?seq=${s}&at=${s}&ms=20`, {
      requests: '6',
      rate: '20',
      concurrency: '1',
    });
    expect(r.summary).toMatchObject({ requests: 6, successes: 6, mode: 'open' });
  });

  it('with --duration, every call scheduled inside it is sent or counted as not sent', async () => {
    const r = await load(() => '/ok', { rate: '100', duration: '300ms' });
    // On a quiet machine all 30 start in time; on a loaded one the ones that could not start before
    // the end are reported as notSent (issue 17: the run ends on time) — never silently lost.
    const notSent = (r.summary.notSent as number | undefined) ?? 0;
    expect((r.summary.requests as number) + notSent).toBe(30);
    expect(state.hits).toBe(r.summary.requests);
  });
});

describe('runLoad: live progress', () => {
  it('redraws a progress line on stderr only when it is a TTY, and clears it before the summary', async () => {
    const tty = await load(
      () => '/slow',
      { duration: '700ms', concurrency: '4' },
      { json: false, tty: true },
    );
    expect(tty.stderr).toMatch(/\r\x1b\[2K\d+ · \d+ req\/s · 0 errors · p99 [\d.]+m?s · [\d.]+\/0\.7s/);
    expect(tty.stdout).toBe('');
    // The last escape is the clear; the summary follows on a clean line.
    expect(tty.stderr.slice(tty.stderr.lastIndexOf('\x1b[2K') + 4)).toMatch(/^[\d,]+ calls in /);
    const piped = await load(() => '/slow', { duration: '700ms', concurrency: '4' }, { json: false });
    expect(piped.stderr).not.toContain('\x1b[2K');
  });
});

describe('runLoad: Ctrl-C', () => {
  it('stops scheduling, drains in-flight calls, prints the summary and returns 130', async () => {
    const controller = new AbortController();
    state.onHit = (n) => {
      if (n === 12) controller.abort(new Error('test interrupt'));
    };
    const r = await load(() => '/slow', { duration: '20s', concurrency: '4' }, { controller });
    expect(r.code).toBe(130);
    expect(r.summary.type).toBe('summary');
    expect(r.summary.error).toMatchObject({ kind: 'interrupted' });
    // 3 full rounds of 4 finished before the abort could (at most 12 sent: 8 done + 4 cut off).
    expect(r.summary.interrupted as number).toBeGreaterThanOrEqual(1);
    expect((r.summary.requests as number) + (r.summary.interrupted as number)).toBe(state.hits);
    expect(state.hits).toBeLessThanOrEqual(12);
  });
});

type LoadFlags = Partial<Record<keyof typeof LOAD_OPTIONS, string | boolean>>;
/** The load options as the command line gives them, through the table's parsers. */
function planFrom(flags: LoadFlags) {
  return planFromValues(parseValues(LOAD_OPTIONS, flags));
}

describe('planFrom', () => {
  it('rejects bad load flags with a usage error naming the flag', () => {
    const cases: Array<[LoadFlags, RegExp]> = [
      [{ requests: '0' }, /-n\/--requests '0'/],
      [{ requests: 'ten' }, /-n\/--requests 'ten'/],
      [{ rate: '0' }, /--rate '0'/],
      [{ rate: 'fast' }, /--rate 'fast'/],
      [{ requests: '1', concurrency: '0' }, /-c\/--concurrency '0'/],
      [{ duration: 'soon' }, /--duration 'soon'/],
      [{ requests: '1', maxErrorRate: '150' }, /--max-error-rate '150'/],
      [{ requests: '1', expectP99: 'fast' }, /--expect-p99 'fast'/],
      [{ requests: '1', connections: '0' }, /--connections '0'/],
    ];
    for (const [flags, re] of cases) {
      expect(() => planFrom(flags)).toThrow(UsageError);
      expect(() => planFrom(flags)).toThrow(re);
    }
  });

  it('defaults: 10 in flight closed loop, 1000 cap open loop, 10 s when no end is given', () => {
    expect(planFrom({ requests: '5' })).toMatchObject({ requests: 5, concurrency: 10, warmupMs: 0 });
    expect(planFrom({ rate: '50' })).toMatchObject({ rate: 50, concurrency: 1000, durationMs: 10_000 });
    expect(planFrom({ requests: '5', duration: '2s' })).toMatchObject({ requests: 5, durationMs: 2000 });
  });
});
