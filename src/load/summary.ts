import type { Result } from '../core/result.js';
import { ExitCode, exitCodeForKind, worstExitCode } from '../errors/exit-codes.js';
import type { Output } from '../output/output.js';
import type { ConnectionsSummary } from './connections.js';
import { evaluateGates, type GateResult } from './gates.js';
import { type EncodedLatency, LatencyHistogram, NO_LATENCY } from './histogram.js';
import type { GateSpec } from './plan.js';
import { connectionLines, HISTOGRAM_BINS, reportSummary, workerLines } from './report.js';
import type { SeriesPoint } from './series.js';
import type { LoadTotals } from './stats.js';

type ErrorKindName = NonNullable<Result['error']>['kind'];

/** One worker's share of a distributed run (or one run of `report merge`), as the summary lists it. */
export interface WorkerLine {
  name: string;
  requests: number;
  errors: number;
  rps: number;
  /** Lost mid-run: its figures are those last reported, and left out of the totals. */
  lost?: boolean;
  /** Per-second points without histograms, for the report's per-worker lines. */
  series?: Omit<SeriesPoint, 'latency'>[];
}

/** The `--json` summary line of a load run: the contract's fields first, then the details. */
export interface LoadSummary extends LoadTotals {
  type: 'summary';
  transport: Result['transport'] | undefined;
  target: string;
  operation: string;
  ok: boolean;
  exit: ExitCode;
  mode: 'closed' | 'open';
  concurrency: number;
  rate?: number;
  warmupMs: number;
  /**
   * Open loop with --duration: calls scheduled inside the run that could not start before its end
   * (the client or the in-flight cap could not keep up with --rate). They are not sent and not in
   * `requests`; present only when there were some.
   */
  notSent?: number;
  /** After --duration: calls in flight then, the wait for them, and how many --drain-timeout aborted. */
  drain?: { inFlight: number; waitedMs: number; notCompleted: number };
  gates: GateResult[];
  error?: {
    kind: 'expectation' | 'interrupted' | ErrorKindName;
    message: string;
    /** The interruption's code (e.g. stdout closed), so output can tell a reader leaving from Ctrl-C. */
    code?: string;
  };
  /** Wall-clock start and end of the measured phase (ISO 8601). */
  startedAt: string;
  endedAt: string;
  /** The whole run's latency histogram, encoded (HdrHistogram V2 compressed base64, µs): merges exactly. */
  histogram: EncodedLatency;
  /** One point per second of the measured phase. */
  series: SeriesPoint[];
  /** Distributed runs and merges: one line per worker (or run). */
  workers?: WorkerLine[];
  /** Transports with long-lived connections (ws): handshakes and closes. */
  connections?: ConnectionsSummary;
  /** True when a worker was lost mid-run: the figures leave out its share. */
  partial?: boolean;
  /** Names of the workers lost mid-run. */
  lost?: string[];
}

/** What decides a run's exit code besides the totals. */
export interface Judgement {
  gates: readonly GateSpec[];
  /** Set when Ctrl-C (or a closed stdout) ended the run. */
  interrupted?: { code?: string } | undefined;
  /** The most telling exit code among failed calls. */
  worstExit: ExitCode;
  /** Set when --abort-on-fail stopped the run: the gate message. */
  abortedBy?: string | undefined;
  /** Calls still running when --drain-timeout ran out (abandoned, not counted). */
  abandoned?: number | undefined;
}

/**
 * The exit code and error of a run, from its totals: 130 when interrupted; else 1 when a gate missed;
 * else 0 when --max-error-rate was given and held; else 0 when every call succeeded, or the worst
 * failure's code. Local runs, distributed runs and merges all decide here.
 */
export function judge(
  totals: LoadTotals,
  j: Judgement,
): { gates: GateResult[]; exit: ExitCode; error?: LoadSummary['error'] } {
  const gates = evaluateGates(j.gates, totals);
  const missed = gates.filter((g) => !g.ok);
  const errorBudget = j.gates.some((g) => g.figure === 'errorRate');
  if (j.interrupted) {
    return {
      gates,
      exit: ExitCode.interrupted,
      error: {
        kind: 'interrupted',
        message: `interrupted after ${totals.requests} call(s); summary of those completed`,
        ...(j.interrupted.code ? { code: j.interrupted.code } : {}),
      },
    };
  }
  // Nothing completed (every call abandoned at --drain-timeout, say): no figure describes the
  // peer, and a CI step must not pass on a server that never answered.
  if (totals.requests === 0) {
    const abandoned = j.abandoned ?? 0;
    // Every call abandoned: the outage is the timeout (4) whether or not a gate was given; the
    // gates still say they could not hold.
    if (abandoned > 0)
      return {
        gates,
        exit: ExitCode.timeout,
        error: {
          kind: 'timeout',
          message: `no call completed: ${abandoned} still running when --drain-timeout ran out were abandoned`,
        },
      };
    if (missed.length === 0)
      return { gates, exit: ExitCode.failed, error: { kind: 'expectation', message: 'no call completed' } };
  }
  if (missed.length > 0 || j.abortedBy) {
    const message = missed.length > 0 ? missed.map((g) => g.message).join('; ') : (j.abortedBy ?? '');
    return {
      gates,
      exit: ExitCode.failed,
      error: {
        kind: 'expectation',
        message: j.abortedBy ? `aborted (--abort-on-fail): ${message}` : message,
      },
    };
  }
  if (totals.errors > 0 && !errorBudget) {
    const exit = j.worstExit;
    const kinds = Object.entries(totals.errorKinds)
      .map(([k, v]) => `${k} ×${v}`)
      .join(', ');
    let kind = (Object.entries(totals.errorKinds).find(([, v]) => v)?.[0] ?? 'response') as ErrorKindName;
    // The most telling kind decides the code; name it so the code and the message agree.
    for (const [k] of Object.entries(totals.errorKinds)) {
      if (exitCodeForKind(k as ErrorKindName) === exit) {
        kind = k as ErrorKindName;
        break;
      }
    }
    return {
      gates,
      exit,
      error: { kind, message: `${totals.errors} of ${totals.requests} calls failed (${kinds})` },
    };
  }
  return { gates, exit: ExitCode.ok };
}

/** The worst exit code the error kinds of a summary stand for (merges have no per-call exits). */
export function worstExitOfKinds(kinds: LoadTotals['errorKinds']): ExitCode {
  return worstExitCode(
    Object.entries(kinds)
      .filter(([, v]) => (v ?? 0) > 0)
      .map(([k]) => exitCodeForKind(k as ErrorKindName)),
  );
}

/**
 * Print a summary as every load run does: the JSON line on stdout with --json, else the person's
 * summary on stderr; then the failure lines. `histogram` gives the terminal bars (decoded from the
 * summary when absent).
 */
export async function emitSummary(
  output: Output,
  summary: LoadSummary,
  opts: { json?: boolean; histogram?: LatencyHistogram; firstErrors?: ReadonlyMap<string, string> } = {},
): Promise<void> {
  if (opts.json ?? output.options.json) await output.json(summary);
  else {
    const h = opts.histogram ?? LatencyHistogram.decode(summary.histogram);
    reportSummary(output, summary, h.bins(HISTOGRAM_BINS), summary.gates, opts.firstErrors);
    if (summary.connections)
      for (const line of connectionLines(output, summary.connections)) output.info(line);
    if (summary.workers) for (const line of workerLines(output, summary.workers)) output.info(line);
  }
  if (summary.partial) {
    output.error({
      message: `partial result: lost worker(s) ${(summary.lost ?? []).join(', ')} mid-run; their share is left out`,
      ...(summary.exit === ExitCode.connect
        ? { hint: 'pass --allow-partial to accept a run that lost workers (exit by the rest)' }
        : {}),
    });
  }
  const missed = summary.gates.filter((g) => !g.ok);
  // The partial line above already says what the lost-worker error says.
  const error = summary.partial && summary.error?.kind === 'connect' ? undefined : summary.error;
  const errorBudget = summary.gates.some((g) => g.figure === 'errorRate');
  if (missed.length > 0) {
    for (const g of missed) output.error({ message: g.message });
    // Every call abandoned: the exit is the timeout's, so say why as well as which gates fell.
    if (summary.requests === 0 && error?.kind === 'timeout') output.error({ message: error.message });
  } else if (error && error.kind !== 'interrupted') {
    output.error({
      message: error.message,
      ...(errorBudget || error.kind === 'expectation' || summary.requests === 0
        ? {}
        : { hint: 'gate on --max-error-rate <pct> to accept some failures' }),
    });
  } else if (error?.kind === 'interrupted')
    output.error({ message: error.message, ...(error.code ? { code: error.code } : {}) });
}

/** Gate specs back from a summary's gate results (to judge a merge by the gates its runs had). */
export function gateSpecsOf(gates: readonly GateResult[]): GateSpec[] {
  const seen = new Map<string, GateSpec>();
  for (const g of gates) {
    const text =
      g.figure === 'p99' || g.figure === 'p50'
        ? `${g.limit}ms`
        : g.figure === 'errorRate'
          ? `${g.limit}%`
          : `${g.limit} req/s`;
    seen.set(g.flag, {
      figure: g.figure,
      flag: g.flag,
      text,
      limit: g.limit,
      bound: g.figure === 'rps' ? 'min' : 'max',
    });
  }
  return [...seen.values()];
}

function addCounts<K extends string>(
  into: Partial<Record<K, number>>,
  from: Partial<Record<K, number>>,
): void {
  for (const [k, v] of Object.entries(from) as [K, number | undefined][]) into[k] = (into[k] ?? 0) + (v ?? 0);
}

function round(n: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

/** The totals of several runs' parts added together, over the union of their time windows. */
export function mergeTotals(parts: readonly LoadSummary[]): {
  totals: LoadTotals;
  histogram: LatencyHistogram;
  startedAt: string;
  endedAt: string;
} {
  const histogram = new LatencyHistogram();
  const statuses: Record<string, number> = {};
  const errorKinds: LoadTotals['errorKinds'] = {};
  let requests = 0;
  let successes = 0;
  let errors = 0;
  let bytes = 0;
  let attempts = 0;
  let retries = 0;
  let shortCircuits = 0;
  let interrupted = 0;
  let start = Number.POSITIVE_INFINITY;
  let end = Number.NEGATIVE_INFINITY;
  for (const p of parts) {
    histogram.add(LatencyHistogram.decode(p.histogram));
    requests += p.requests;
    successes += p.successes;
    errors += p.errors;
    bytes += p.bytes;
    attempts += p.attempts;
    retries += p.retries;
    shortCircuits += p.shortCircuits;
    interrupted += p.interrupted;
    addCounts(statuses, p.statuses);
    addCounts(errorKinds, p.errorKinds);
    start = Math.min(start, Date.parse(p.startedAt));
    end = Math.max(end, Date.parse(p.endedAt));
  }
  if (!Number.isFinite(start)) start = end = Date.now();
  const durationMs = Math.max(0, end - start);
  const secs = durationMs / 1000;
  return {
    histogram,
    startedAt: new Date(start).toISOString(),
    endedAt: new Date(end).toISOString(),
    totals: {
      requests,
      successes,
      errors,
      errorRate: requests === 0 ? 0 : round(100 * (errors / requests), 4),
      rps: secs > 0 ? round(requests / secs, 1) : 0,
      bytes,
      bytesPerSec: secs > 0 ? Math.round(bytes / secs) : 0,
      durationMs,
      latency: requests === 0 ? NO_LATENCY : histogram.summary(),
      statuses: Object.fromEntries(Object.entries(statuses).sort((a, b) => b[1] - a[1])),
      errorKinds,
      attempts,
      retries,
      shortCircuits,
      interrupted,
    },
  };
}

/** A per-worker line from one part's summary. */
export function workerLineOf(name: string, s: LoadSummary): WorkerLine {
  return {
    name,
    requests: s.requests,
    errors: s.errors,
    rps: s.rps,
    series: s.series.map(({ latency: _l, ...rest }) => rest),
  };
}
