import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import type { AttemptRecord } from '../../src/core/result.js';
import { CallPipeline, DEFAULT_RESILIENCE, type ResilienceOptions } from '../../src/core/run-call.js';
import type {
  AttemptContext,
  AttemptSink,
  CallBase,
  Outcome,
  Transport,
  Verdict,
} from '../../src/core/transport.js';
import { ConnectError, InterruptedError, ResponseError } from '../../src/errors/comms-error.js';

/*
 * CallPipeline driven by a scripted transport: each attempt() plays the next step of a script, so the
 * tests decide what the peer does and assert what the pipeline did with it (attempts, waits, result).
 * Timing: bounds are measured, and only lower bounds the pipeline itself guarantees are tight; upper
 * bounds are generous (a loaded 2-core machine may stall for a second), and no test sleeps.
 */

/** One step of a script: what the next attempt does. */
type Step =
  /** A failure the transport judges retryable (a peer fault, counted by the breaker). */
  | { fail: 'retryable'; retryAfterMs?: number; holdMs?: number }
  /** A failure not worth retrying (a 4xx, a bad request). */
  | { fail: 'final' }
  /** A reply the transport judges ok. */
  | { ok: true }
  /** Hang until the attempt's signal aborts (per-attempt timeout, --max-time or Ctrl-C). */
  | { hang: true };

interface Reply {
  readonly ok: boolean;
  readonly retryable: boolean;
  readonly retryAfterMs?: number;
}

/** A Transport whose attempt() follows a script; it records when each attempt started. */
class ScriptedTransport implements Transport<CallBase, Reply> {
  // TransportKind is a closed union today and meant to become an open string.
  readonly kind = 'scripted' as string as Transport<CallBase, Reply>['kind'];
  /** performance.now() at the start of each attempt, in order. */
  readonly starts: number[] = [];
  #next = 0;

  constructor(private readonly script: readonly Step[]) {}

  get calls(): number {
    return this.starts.length;
  }

  async attempt(_call: CallBase, ctx: AttemptContext): Promise<Reply> {
    this.starts.push(performance.now());
    const step = this.script[this.#next++];
    if (!step) throw new Error(`script has no step ${this.#next} (attempt ${ctx.attempt})`);
    if ('hang' in step) return hang(ctx.signal);
    if ('ok' in step) return { ok: true, retryable: false };
    if (step.fail === 'final') return { ok: false, retryable: false };
    if (step.holdMs) await delay(step.holdMs, ctx.signal);
    // A connection failure surfaces as a thrown typed error, as real transports do.
    if (step.retryAfterMs === undefined) throw new ConnectError('scripted: connection refused');
    return { ok: false, retryable: true, retryAfterMs: step.retryAfterMs };
  }

  classify(outcome: Outcome<Reply>): Verdict {
    if (outcome.error) {
      const retryable = outcome.error.kind === 'connect';
      return { ok: false, retryable, peerFault: retryable, error: outcome.error };
    }
    const r = outcome.reply;
    if (r.ok) return { ok: true, retryable: false, peerFault: false, status: 'OK' };
    return {
      ok: false,
      retryable: r.retryable,
      peerFault: r.retryable,
      status: r.retryable ? 'UNAVAILABLE' : 'INVALID',
      error: new ResponseError(r.retryable ? 'scripted: unavailable' : 'scripted: invalid'),
      ...(r.retryAfterMs !== undefined ? { retryAfterMs: r.retryAfterMs } : {}),
    };
  }

  describe(): Record<string, unknown> {
    return {};
  }

  async close(): Promise<void> {}
}

function hang(signal: AbortSignal): Promise<never> {
  return new Promise((_resolve, reject) => {
    if (signal.aborted) reject(signal.reason);
    signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
}

function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(signal.reason);
      },
      { once: true },
    );
  });
}

const CALL: CallBase = { target: 'scripted://peer', operation: 'Do' };

/** Resilience options for a test: defaults, tiny backoff so retries do not wait long. */
function options(over: Partial<ResilienceOptions>): ResilienceOptions {
  return { ...DEFAULT_RESILIENCE, backoffMs: 1, backoffMaxMs: 5, ...over };
}

/** Run one call through a fresh pipeline; collects the attempts the pipeline reported as events. */
async function run(
  script: Step[],
  over: Partial<ResilienceOptions>,
  root = new AbortController(),
  onAttempt?: (record: AttemptRecord) => void,
) {
  const transport = new ScriptedTransport(script);
  const events: AttemptRecord[] = [];
  const pipeline = new CallPipeline(options(over), root.signal, {
    onAttempt: (record) => {
      events.push({ ...record });
      onAttempt?.(record);
    },
  });
  const started = performance.now();
  try {
    const { result } = await pipeline.run(transport, CALL);
    return { result, transport, events, elapsed: performance.now() - started, started };
  } finally {
    pipeline.close();
  }
}

/**
 * Node's timers may fire up to ~1 ms before the asked delay when measured with performance.now()
 * (libuv rounds its loop clock to whole milliseconds): lower bounds on a wait allow this much.
 */
const CLOCK_SLACK_MS = 2;

describe('CallPipeline: retry on the verdict', () => {
  it('retries retryable failures until one succeeds; every attempt is recorded with its wait', async () => {
    const { result, transport, events } = await run(
      [{ fail: 'retryable' }, { fail: 'retryable', retryAfterMs: 0 }, { ok: true }],
      { retries: 3 },
    );
    expect(result).toMatchObject({ ok: true, exit: 0, status: 'OK', target: CALL.target, operation: 'Do' });
    expect(result.error).toBeUndefined();
    expect(transport.calls).toBe(3);
    expect(result.attempts.map((a) => [a.n, a.ok, a.error?.kind ?? a.status])).toEqual([
      [1, false, 'connect'],
      [2, false, 'response'],
      [3, true, 'OK'],
    ]);
    expect(result.attempts[0]?.waitMs).toBeGreaterThanOrEqual(0);
    expect(result.attempts[1]?.waitMs).toBeGreaterThanOrEqual(0);
    expect(result.attempts[2]?.waitMs).toBeUndefined();
    expect(events.map((e) => e.n)).toEqual([1, 2, 3]);
  });

  it('a non-retryable failure is final: one attempt, exit 1, whatever --retries says', async () => {
    const { result, transport } = await run([{ fail: 'final' }, { ok: true }], { retries: 5 });
    expect(transport.calls).toBe(1);
    expect(result).toMatchObject({ ok: false, exit: 1, status: 'INVALID', error: { kind: 'response' } });
    expect(result.attempts).toHaveLength(1);
    expect(result.attempts[0]?.waitMs).toBeUndefined();
  });

  it('gives up after --retries with the last failure (1 + retries attempts)', async () => {
    const { result, transport } = await run(
      [{ fail: 'retryable' }, { fail: 'retryable' }, { fail: 'retryable' }, { ok: true }],
      { retries: 2 },
    );
    expect(transport.calls).toBe(3);
    expect(result).toMatchObject({ ok: false, exit: 3, error: { kind: 'connect' } });
    expect(result.attempts.map((a) => a.ok)).toEqual([false, false, false]);
  });
});

describe('CallPipeline: Retry-After', () => {
  it('is honoured up to --backoff-max, never beyond it', async () => {
    const { result, transport } = await run([{ fail: 'retryable', retryAfterMs: 60_000 }, { ok: true }], {
      retries: 1,
      backoffMs: 1,
      backoffMaxMs: 150,
    });
    expect(result.ok).toBe(true);
    expect(result.attempts[0]?.waitMs).toBe(150); // the server asked for 60 s; the cap wins
    const [first, second] = transport.starts as [number, number];
    const gap = second - first;
    expect(gap).toBeGreaterThanOrEqual(150 - CLOCK_SLACK_MS);
    expect(gap).toBeLessThan(30_000); // nowhere near the 60 s asked for, even on a stalled machine
  });

  it('a Retry-After longer than the jittered backoff wins (below the cap)', async () => {
    const { result } = await run([{ fail: 'retryable', retryAfterMs: 40 }, { ok: true }], {
      retries: 1,
      backoffMs: 1,
      backoffMaxMs: 10_000,
    });
    expect(result.ok).toBe(true);
    expect(result.attempts[0]?.waitMs).toBe(40);
  });
});

describe('CallPipeline: the circuit breaker opening mid-retries', () => {
  it('the attempts after it opened are short-circuited without reaching the transport (exit 5)', async () => {
    const { result, transport } = await run(
      [{ fail: 'retryable' }, { fail: 'retryable' }, { ok: true }, { ok: true }, { ok: true }],
      { retries: 4, breaker: 2, breakerCooldownMs: 60_000 },
    );
    expect(transport.calls).toBe(2); // the breaker opened after two peer faults
    expect(result).toMatchObject({ ok: false, exit: 5, error: { kind: 'breaker' } });
    expect(result.attempts.map((a) => a.error?.kind)).toEqual(['connect', 'connect', 'breaker']);
    expect(result.attempts.at(-1)).toMatchObject({ n: 3, ok: false, ms: 0 });
  });

  it('a breaker shared by calls of one pipeline stays open for the next call', async () => {
    const root = new AbortController();
    const pipeline = new CallPipeline(
      options({ retries: 0, breaker: 1, breakerCooldownMs: 60_000 }),
      root.signal,
    );
    try {
      const failing = new ScriptedTransport([{ fail: 'retryable' }]);
      expect((await pipeline.run(failing, CALL)).result.exit).toBe(3);
      expect(pipeline.breakerState(CALL.target)).toBe('open');
      const healthy = new ScriptedTransport([{ ok: true }]);
      const next = await pipeline.run(healthy, CALL);
      expect(next.result).toMatchObject({ ok: false, exit: 5 });
      expect(healthy.calls).toBe(0);
    } finally {
      pipeline.close();
    }
  });
});

describe('CallPipeline: --max-time', () => {
  it('ends before a wait that would pass the budget: no attempt starts after it (exit 4)', async () => {
    const { result, transport, elapsed } = await run(
      [{ fail: 'retryable', retryAfterMs: 5_000 }, { ok: true }],
      { retries: 3, backoffMaxMs: 10_000, maxTimeMs: 1_000 },
    );
    expect(transport.calls).toBe(1);
    expect(result).toMatchObject({ ok: false, exit: 4, error: { kind: 'timeout' } });
    expect(result.error?.message).toMatch(/--max-time would pass before attempt 2/);
    expect(result.attempts).toHaveLength(1);
    expect(result.attempts[0]?.waitMs).toBeUndefined(); // it did not wait for nothing
    expect(elapsed).toBeLessThan(5_000);
  });

  it('slow attempts: every attempt starts inside the budget, and the call ends near it', async () => {
    const maxTimeMs = 400;
    const { result, transport, started, elapsed } = await run(
      Array.from({ length: 20 }, () => ({ fail: 'retryable' as const, retryAfterMs: 0, holdMs: 120 })),
      { retries: 19, maxTimeMs },
    );
    expect(result).toMatchObject({ ok: false, exit: 4, error: { kind: 'timeout' } });
    expect(transport.calls).toBeGreaterThanOrEqual(1);
    expect(transport.calls).toBeLessThan(20);
    for (const start of transport.starts) expect(start - started).toBeLessThan(maxTimeMs + CLOCK_SLACK_MS);
    expect(result.attempts).toHaveLength(transport.calls);
    expect(elapsed).toBeGreaterThanOrEqual(maxTimeMs - CLOCK_SLACK_MS);
    expect(elapsed).toBeLessThan(maxTimeMs + 5_000); // the budget's abort ends the hung attempt
  });

  it('aborts an attempt in flight when the budget runs out', async () => {
    const { result, transport, elapsed } = await run([{ hang: true }], { retries: 0, maxTimeMs: 100 });
    expect(transport.calls).toBe(1);
    expect(result).toMatchObject({ ok: false, exit: 4, error: { kind: 'timeout' } });
    expect(result.error?.message).toContain('--max-time');
    expect(elapsed).toBeGreaterThanOrEqual(100 - CLOCK_SLACK_MS);
    expect(elapsed).toBeLessThan(10_000);
  });
});

describe('CallPipeline: Ctrl-C', () => {
  it('during a backoff wait ends the call at once, interrupted (exit 130), with no further attempt', async () => {
    const root = new AbortController();
    let abortedAt = 0;
    const { result, transport, elapsed } = await run(
      [{ fail: 'retryable', retryAfterMs: 60_000 }, { ok: true }],
      { retries: 3, backoffMaxMs: 60_000 },
      root,
      (record) => {
        // The pipeline reports the attempt with its wait just before waiting: Ctrl-C right then.
        if (record.waitMs !== undefined) {
          queueMicrotask(() => {
            abortedAt = performance.now();
            root.abort(new InterruptedError('interrupted (Ctrl-C)'));
          });
        }
      },
    );
    expect(abortedAt).toBeGreaterThan(0);
    expect(transport.calls).toBe(1);
    expect(result).toMatchObject({ ok: false, exit: 130, error: { kind: 'interrupted' } });
    expect(result.attempts).toHaveLength(1);
    expect(result.attempts[0]?.waitMs).toBe(60_000);
    expect(elapsed).toBeLessThan(10_000); // not the 60 s wait
  });

  it('during an attempt aborts it and reports interrupted', async () => {
    const root = new AbortController();
    const transport = new ScriptedTransport([{ hang: true }]);
    const pipeline = new CallPipeline(options({ retries: 3 }), root.signal);
    try {
      const pending = pipeline.run(transport, CALL);
      // Abort once the attempt is in flight (the transport recorded its start).
      await until(() => transport.calls === 1);
      root.abort(new InterruptedError('interrupted (Ctrl-C)'));
      const { result } = await pending;
      expect(result).toMatchObject({ ok: false, exit: 130, error: { kind: 'interrupted' } });
      expect(transport.calls).toBe(1);
    } finally {
      pipeline.close();
    }
  });
});

describe('a call that can have only one attempt (no retries, breaker or --max-time)', () => {
  /** The result without its measured durations (they differ between any two runs). */
  const shape = (result: Record<string, unknown>) =>
    JSON.parse(JSON.stringify(result, (k, v) => (k === 'ms' || k === 'timing' ? undefined : v)));

  it('gives the same result as the general path: ok, a final failure, a timeout, Ctrl-C', async () => {
    const cases: { script: Step[]; over: Partial<ResilienceOptions>; interrupt?: boolean }[] = [
      { script: [{ ok: true }], over: {} },
      { script: [{ fail: 'final' }], over: {} },
      { script: [{ fail: 'retryable' }], over: {} },
      { script: [{ hang: true }], over: { timeoutMs: 20 } },
      { script: [{ hang: true }], over: {}, interrupt: true },
    ];
    for (const c of cases) {
      const results = [];
      // A breaker that never opens sends the call down the general path, with the same outcome.
      for (const extra of [{}, { breaker: 1000 }]) {
        const root = new AbortController();
        const transport = new ScriptedTransport(c.script);
        const pipeline = new CallPipeline(options({ ...c.over, ...extra }), root.signal);
        try {
          const pending = pipeline.run(transport, CALL);
          if (c.interrupt) {
            await until(() => transport.calls === 1);
            root.abort(new InterruptedError('interrupted (Ctrl-C)'));
          }
          const { result } = await pending;
          expect(result.attempts).toHaveLength(1);
          expect(result.attempts[0]?.ms).toBeGreaterThanOrEqual(0);
          expect(result.timing?.total).toBeGreaterThanOrEqual(0);
          results.push(shape(result));
        } finally {
          await pipeline.close();
        }
      }
      expect(results[0]).toEqual(results[1]);
    }
  });

  it('reports the attempt to onAttempt once, and a throwing classify as a bug (run rejects, runThen calls failed)', async () => {
    const seen: AttemptRecord[] = [];
    const pipeline = new CallPipeline(options({}), new AbortController().signal, {
      onAttempt: (r) => seen.push(r),
    });
    await pipeline.run(new ScriptedTransport([{ ok: true }]), CALL);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ n: 1, ok: true, status: 'OK' });

    const broken = new ScriptedTransport([{ ok: true }, { ok: true }]);
    broken.classify = () => {
      throw new Error('classify bug');
    };
    await expect(pipeline.run(broken, CALL)).rejects.toThrow('classify bug');
    const failed = await new Promise<unknown>((resolve) =>
      pipeline.runThen(broken, CALL, undefined, { done: () => resolve('done'), failed: resolve }),
    );
    expect((failed as Error).message).toBe('classify bug');
    await pipeline.close();
  });
});

describe('transports that report to a sink (attemptInto)', () => {
  /** Settles every attempt before attemptInto returns (or throws): the pipeline must defer it. */
  class EagerSink implements Transport<CallBase, Reply> {
    readonly kind = 'eager';
    calls = 0;
    constructor(readonly mode: 'reply' | 'fail' | 'throw') {}
    attempt(): Promise<Reply> {
      throw new Error('attempt() is not used when attemptInto exists');
    }
    attemptInto(_call: CallBase, _ctx: AttemptContext, sink: AttemptSink<Reply>): void {
      this.calls += 1;
      if (this.mode === 'throw') throw new ConnectError('eager: refused at once');
      if (this.mode === 'fail') sink.fail(new ConnectError('eager: refused'));
      else sink.reply({ ok: true, retryable: false });
      // A second report is ignored: exactly one outcome per attempt.
      sink.fail(new Error('reported twice'));
    }
    classify = ScriptedTransport.prototype.classify;
    describe(): Record<string, unknown> {
      return {};
    }
    async close(): Promise<void> {}
  }

  it('reports asynchronously even when the transport settles at once; a throw is the attempt failing', async () => {
    for (const [mode, expected] of [
      ['reply', { ok: true, status: 'OK' }],
      ['fail', { ok: false, exit: 3, error: { kind: 'connect', message: 'eager: refused' } }],
      ['throw', { ok: false, exit: 3, error: { kind: 'connect', message: 'eager: refused at once' } }],
    ] as const) {
      const pipeline = new CallPipeline(options({}), new AbortController().signal);
      const transport = new EagerSink(mode);
      let sync = true;
      let depth = 0;
      let maxDepth = 0;
      const results: unknown[] = [];
      // 2,000 calls, each started from the last one's report: deferred, so the stack never grows.
      await new Promise<void>((resolve, reject) => {
        const next = (): void => {
          if (results.length === 2000) {
            resolve();
            return;
          }
          depth += 1;
          maxDepth = Math.max(maxDepth, depth);
          pipeline.runThen(transport, CALL, undefined, {
            done: ({ result }) => {
              results.push(result);
              next();
            },
            failed: reject,
          });
          depth -= 1;
        };
        next();
        expect(results).toHaveLength(0);
        sync = false;
      });
      expect(sync).toBe(false);
      expect(maxDepth).toBe(1);
      expect(results[0]).toMatchObject(expected);
      expect(transport.calls).toBe(2000);
      await pipeline.close();
    }
  });
});

/** Wait until `cond` holds, yielding to the event loop (no fixed sleep). */
async function until(cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const end = performance.now() + timeoutMs;
  while (!cond()) {
    if (performance.now() > end) throw new Error('condition never held');
    await new Promise((r) => setImmediate(r));
  }
}
