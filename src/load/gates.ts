import { formatMs } from '../core/duration.js';
import type { GateSpec } from './plan.js';
import type { LoadTotals } from './stats.js';

/** One gate's verdict, as the --json summary shows it under `gates`. */
export interface GateResult {
  flag: string;
  figure: GateSpec['figure'];
  limit: number;
  /** null when no call completed (no latency to compare). */
  actual: number | null;
  ok: boolean;
  /** One line naming the missed figure, e.g. `p99 182.3ms > --expect-p99 100ms`. */
  message: string;
}

function actualOf(figure: GateSpec['figure'], totals: LoadTotals): number | null {
  switch (figure) {
    // No call completed: no latency (null; the gate fails on that, see evaluateGates).
    case 'p99':
      return totals.latency.p99;
    case 'p50':
      return totals.latency.p50;
    case 'errorRate':
      return totals.errorRate;
    case 'rps':
      return totals.rps;
  }
}

function show(figure: GateSpec['figure'], value: number): string {
  if (figure === 'p99' || figure === 'p50') return formatMs(value);
  if (figure === 'errorRate') return `${Number(value.toFixed(3))}%`;
  return `${Number(value.toFixed(1))} req/s`;
}

const NAMES: Record<GateSpec['figure'], string> = {
  p99: 'p99',
  p50: 'p50',
  errorRate: 'error rate',
  rps: 'throughput',
};

/**
 * Judge the gates against the totals. A run with no measured call fails every gate: an SLO cannot be
 * met by sending nothing.
 */
export function evaluateGates(gates: readonly GateSpec[], totals: LoadTotals): GateResult[] {
  return gates.map((g) => {
    const actual = actualOf(g.figure, totals);
    const within = actual !== null && (g.bound === 'max' ? actual <= g.limit : actual >= g.limit);
    const ok = totals.requests > 0 && within;
    const op = g.bound === 'max' ? (ok ? '<=' : '>') : ok ? '>=' : '<';
    const message =
      totals.requests === 0 || actual === null
        ? `${NAMES[g.figure]}: no calls completed, ${g.flag} ${g.text} cannot hold`
        : `${NAMES[g.figure]} ${show(g.figure, actual)} ${op} ${g.flag} ${g.text}`;
    return { flag: g.flag, figure: g.figure, limit: g.limit, actual, ok, message };
  });
}
