import { ExitCode } from '../errors/exit-codes.js';
import type { GateSpec } from './plan.js';
import { mergeSeries } from './series.js';
import {
  gateSpecsOf,
  judge,
  type LoadSummary,
  mergeTotals,
  type WorkerLine,
  workerLineOf,
  worstExitOfKinds,
} from './summary.js';

export interface MergeOptions {
  /** Gates to judge the merged data by (default: the gates the parts were run with). */
  gates?: readonly GateSpec[];
  interrupted?: { code?: string } | undefined;
  abortedBy?: string | undefined;
  /** Workers lost mid-run: listed, named in `lost`, and the result marked partial. */
  lost?: readonly WorkerLine[];
  /** Accept a partial result (exit by the rest) instead of exit 3. */
  allowPartial?: boolean;
}

/**
 * One exact summary from the summaries of several parts (a distributed run's workers, or separate
 * runs given to `report merge`): histograms added bucket by bucket (percentiles are never averaged),
 * counts summed, throughput over the union of the parts' time windows, series merged per second,
 * gates judged on the merged data.
 */
export function mergeSummaries(
  parts: readonly { name: string; summary: LoadSummary }[],
  opts: MergeOptions = {},
): LoadSummary {
  const first = parts[0]?.summary;
  const { totals, histogram, startedAt, endedAt } = mergeTotals(parts.map((p) => p.summary));
  const gates = opts.gates ?? gateSpecsOf(first?.gates ?? []);
  // The parts' drains add up: calls in flight at the end, the longest wait, the calls abandoned.
  const drains = parts.flatMap((p) => (p.summary.drain ? [p.summary.drain] : []));
  const drain =
    drains.length > 0
      ? {
          inFlight: drains.reduce((a, d) => a + d.inFlight, 0),
          waitedMs: Math.max(...drains.map((d) => d.waitedMs)),
          notCompleted: drains.reduce((a, d) => a + d.notCompleted, 0),
        }
      : undefined;
  const verdict = judge(totals, {
    gates,
    interrupted: opts.interrupted,
    worstExit: worstExitOfKinds(totals.errorKinds),
    abortedBy: opts.abortedBy,
    abandoned: drain?.notCompleted,
  });
  const lost = opts.lost ?? [];
  let { exit, error } = verdict;
  if (lost.length > 0 && !opts.allowPartial && exit !== ExitCode.interrupted) {
    exit = ExitCode.connect;
    error = {
      kind: 'connect',
      message: `partial result: lost ${lost.map((w) => w.name).join(', ')} mid-run${verdict.error ? `; ${verdict.error.message}` : ''}`,
    };
  }
  const unique = (values: (string | undefined)[]) =>
    [...new Set(values.filter((v) => v !== undefined))].join(', ');
  const rates = parts.map((p) => p.summary.rate).filter((r): r is number => r !== undefined);
  return {
    type: 'summary',
    transport: first?.transport,
    target: unique(parts.map((p) => p.summary.target)),
    operation: unique(parts.map((p) => p.summary.operation)),
    ok: exit === ExitCode.ok,
    exit,
    mode: first?.mode ?? 'closed',
    concurrency: parts.reduce((a, p) => a + p.summary.concurrency, 0),
    ...(rates.length > 0 ? { rate: Math.round(rates.reduce((a, b) => a + b, 0) * 1000) / 1000 } : {}),
    warmupMs: Math.max(0, ...parts.map((p) => p.summary.warmupMs)),
    ...totals,
    ...(drain ? { drain } : {}),
    gates: verdict.gates,
    ...(error ? { error } : {}),
    startedAt,
    endedAt,
    histogram: histogram.encode(),
    series: mergeSeries(parts.map((p) => p.summary.series)),
    workers: [
      ...parts.map((p) => workerLineOf(p.name, p.summary)),
      ...lost.map((w) => ({ ...w, lost: true })),
    ],
    ...(lost.length > 0 ? { partial: true, lost: lost.map((w) => w.name) } : {}),
  };
}
