import type { Output } from '../output/output.js';
import type { ConnectionsSummary } from './connections.js';
import type { GateResult } from './gates.js';
import type { LatencyBin } from './histogram.js';
import type { LoadPlan } from './plan.js';
import type { LoadTotals } from './stats.js';

const BAR_WIDTH = 32;
const BINS = 8;

/**
 * `12,345` — counts read better grouped. By hand, not toLocaleString: the first Intl call of a
 * process loads ICU's locale data (25-100 ms measured), and describePlan runs before every load run.
 */
export function groupDigits(value: number): string {
  const digits = String(Math.abs(Math.round(value)));
  if (!/^\d+$/.test(digits)) return String(Math.round(value)); // Infinity, NaN, 1e+21 and up
  const head = digits.length % 3 || 3;
  let out = digits.slice(0, head);
  for (let i = head; i < digits.length; i += 3) out += `,${digits.slice(i, i + 3)}`;
  return value <= -0.5 ? `-${out}` : out;
}
const n = groupDigits;

/** Bytes per second for people: `812 B/s`, `10.3 MB/s`. */
export function formatRate(bytesPerSec: number): string {
  const units = ['B/s', 'KB/s', 'MB/s', 'GB/s'];
  let v = bytesPerSec;
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u += 1;
  }
  return `${u === 0 ? Math.round(v) : v.toFixed(1)} ${units[u]}`;
}

/** How the run will go, one line on stderr before it starts. */
export function describePlan(plan: LoadPlan, what: string): string {
  const end = [
    plan.requests !== undefined ? `${n(plan.requests)} calls` : undefined,
    plan.durationMs !== undefined ? `${plan.durationMs / 1000}s` : undefined,
  ]
    .filter(Boolean)
    .join(' or ');
  const loop =
    plan.rate !== undefined
      ? `open loop at ${plan.rate}/s (at most ${n(plan.concurrency)} in flight)`
      : `closed loop, ${n(plan.concurrency)} in flight`;
  const warm = plan.warmupMs > 0 ? `, after ${plan.warmupMs / 1000}s warm-up` : '';
  return `load: ${what} · ${end} · ${loop}${warm}`;
}

/** The live line (TTY only): done/total, current req/s, errors, p99 so far. */
export function progressLine(
  out: Output,
  p: {
    done: number;
    total?: number;
    elapsedMs: number;
    durationMs?: number;
    currentRps: number;
    errors: number;
    p99: number;
    warmup: boolean;
  },
): string {
  const done = p.total !== undefined ? `${n(p.done)}/${n(p.total)}` : n(p.done);
  const time =
    p.durationMs !== undefined
      ? `${(p.elapsedMs / 1000).toFixed(1)}/${p.durationMs / 1000}s`
      : `${(p.elapsedMs / 1000).toFixed(1)}s`;
  const errs = p.errors > 0 ? out.c.red(`${n(p.errors)} errors`) : '0 errors';
  const prefix = p.warmup ? out.c.yellow('warm-up ') : '';
  return `${prefix}${done} · ${n(p.currentRps)} req/s · ${errs} · p99 ${out.ms(p.p99)} · ${time}`;
}

function histogramLines(out: Output, bins: readonly LatencyBin[]): string[] {
  const peak = Math.max(1, ...bins.map((b) => b.count));
  const labels = bins.map((b) => `${out.ms(b.fromMs)} – ${out.ms(b.toMs)}`);
  const width = Math.max(...labels.map((l) => l.length));
  return bins.map((b, i) => {
    const len = b.count === 0 ? 0 : Math.max(1, Math.round((b.count / peak) * BAR_WIDTH));
    const bar = '█'.repeat(len).padEnd(BAR_WIDTH, ' ');
    return `  ${(labels[i] ?? '').padStart(width)} │${out.c.cyan(bar)} ${n(b.count)}`;
  });
}

function counts(map: Record<string, number | undefined>): string {
  return Object.entries(map)
    .map(([k, v]) => `${k} ×${n(v ?? 0)}`)
    .join(' · ');
}

/** The person's summary on stderr (hidden by -q and --json). */
export function reportSummary(
  out: Output,
  totals: LoadTotals,
  bins: readonly LatencyBin[],
  gates: readonly GateResult[],
  firstErrors: ReadonlyMap<string, string> = new Map(),
): void {
  const lines: string[] = [];
  const c = out.c;
  lines.push(
    `${c.bold(`${n(totals.requests)} calls`)} in ${out.ms(totals.durationMs)} · ${c.bold(`${n(totals.rps)} req/s`)} · ${formatRate(totals.bytesPerSec)}`,
  );
  const errText = totals.errors > 0 ? c.red(`errors ${n(totals.errors)} (${totals.errorRate}%)`) : 'errors 0';
  lines.push(`${c.dim('results  ')} ${c.green(`successes ${n(totals.successes)}`)} · ${errText}`);
  if (Object.keys(totals.statuses).length > 0) lines.push(`${c.dim('statuses ')} ${counts(totals.statuses)}`);
  if (totals.errors > 0) {
    lines.push(`${c.dim('errors   ')} ${counts(totals.errorKinds)}`);
    for (const [kind, message] of firstErrors) lines.push(c.dim(`  first ${kind}: ${message}`));
  }
  const l = totals.latency;
  lines.push(
    l.min === null
      ? `${c.dim('latency  ')} none: no call completed`
      : `${c.dim('latency  ')} min ${out.ms(l.min)} · mean ${out.ms(l.mean)} ± ${out.ms(l.stdev)} · p50 ${out.ms(l.p50)} · p90 ${out.ms(l.p90)} · ${c.bold(`p99 ${out.ms(l.p99)}`)} · p99.9 ${out.ms(l.p999)} · max ${out.ms(l.max)}`,
  );
  lines.push(
    `${c.dim('attempts ')} ${n(totals.attempts)} · retries ${n(totals.retries)} · short-circuits ${n(totals.shortCircuits)}`,
  );
  if (totals.interrupted > 0)
    lines.push(c.yellow(`interrupted: ${n(totals.interrupted)} in-flight call(s) cut off and left out`));
  if (totals.requests > 0) lines.push(...histogramLines(out, bins));
  for (const g of gates) lines.push(g.ok ? `${c.green('✓')} ${g.message}` : `${c.red('✗')} ${g.message}`);
  for (const line of lines) out.info(line);
}

/** The connections block (ws load): handshakes apart from the message round trips, closes by code. */
export function connectionLines(out: Output, c: ConnectionsSummary): string[] {
  const failed = Object.values(c.failed).reduce((a, b) => a + b, 0);
  const h = c.handshake;
  const lines = [
    `${out.c.dim('connects ')} ${n(c.size)} connection(s) · ${n(c.opened)} handshake(s) ok · ${failed > 0 ? out.c.red(`${n(failed)} failed (${counts(c.failed)})`) : '0 failed'}`,
  ];
  if (c.opened > 0)
    lines.push(
      `${out.c.dim('handshake')} min ${out.ms(h.min)} · p50 ${out.ms(h.p50)} · p90 ${out.ms(h.p90)} · p99 ${out.ms(h.p99)} · max ${out.ms(h.max)}`,
    );
  if (Object.keys(c.closes).length > 0)
    lines.push(`${out.c.dim('closes   ')} ${out.c.yellow(counts(c.closes))} ${out.c.dim('(by the peer)')}`);
  if (c.unmatched > 0)
    lines.push(`${out.c.dim('unmatched')} ${n(c.unmatched)} message(s) with no request waiting`);
  return lines;
}

/** The `workers` block of a distributed run's (or a merge's) summary: one line per worker. */
export function workerLines(
  out: Output,
  workers: readonly { name: string; requests: number; errors: number; rps: number; lost?: boolean }[],
): string[] {
  if (workers.length === 0) return [];
  const width = Math.max(...workers.map((w) => w.name.length));
  return [
    out.c.dim('workers'),
    ...workers.map((w) => {
      const errs = w.errors > 0 ? out.c.red(`${n(w.errors)} errors`) : '0 errors';
      const lost = w.lost ? ` ${out.c.red('LOST mid-run (left out)')}` : '';
      return `  ${w.name.padEnd(width)}  ${n(w.requests)} calls · ${errs} · ${n(w.rps)} req/s${lost}`;
    }),
  ];
}

export { BINS as HISTOGRAM_BINS };
