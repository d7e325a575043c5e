import { type EncodedLatency, LatencyHistogram } from './histogram.js';

/**
 * One interval (about a second) of a measured phase: what the report draws over time. It carries the
 * interval's own encoded histogram, so points of several workers (or runs) falling in the same
 * second merge exactly, as HdrHistogram's interval logs do.
 */
export interface SeriesPoint {
  /** Start of the interval, epoch ms. */
  ts: number;
  /** Interval length in ms (the last one of a run is shorter). */
  ms: number;
  requests: number;
  errors: number;
  /** Calls per second over the interval. */
  rps: number;
  p50: number;
  p99: number;
  max: number;
  latency: EncodedLatency;
}

/**
 * Records the current interval; `rotate` closes it and starts the next. Given the run's `totals`
 * histogram, each closed interval (and the run's tail) is added to it: a call's latency is then
 * recorded once, not in two histograms (load mode's hot path), and the totals are exact at the end.
 * Between rotations the totals lack the current interval: `soFar()` gives both together.
 */
export class IntervalRecorder {
  readonly points: SeriesPoint[] = [];
  readonly #totals: LatencyHistogram | undefined;
  /** Scratch histogram for soFar(). */
  #soFar: LatencyHistogram | undefined;
  #histogram = new LatencyHistogram();
  /** The histogram of the last closed interval (the last point), kept so a short tail folds into it without decoding. */
  #previous: LatencyHistogram | undefined;
  #errors = 0;
  #start: number;

  constructor(startEpochMs = Date.now(), totals?: LatencyHistogram) {
    this.#start = startEpochMs;
    this.#totals = totals;
  }

  /** The totals with the current interval added (the progress line's "p99 so far"). */
  soFar(): LatencyHistogram {
    const totals = this.#totals;
    if (!totals) return this.#histogram;
    this.#soFar ??= new LatencyHistogram();
    this.#soFar.reset();
    this.#soFar.add(totals);
    this.#soFar.add(this.#histogram);
    return this.#soFar;
  }

  record(latencyMs: number, ok: boolean): void {
    this.#histogram.record(latencyMs);
    if (!ok) this.#errors += 1;
  }

  /** Close the current interval at `now` (epoch ms), keep its point and return it. */
  rotate(now = Date.now()): SeriesPoint {
    const point = pointOf(this.#start, Math.max(1, now - this.#start), this.#histogram, this.#errors);
    this.points.push(point);
    const closed = this.#histogram;
    this.#totals?.add(closed);
    this.#histogram = this.#previous ?? new LatencyHistogram();
    this.#histogram.reset();
    this.#previous = closed;
    this.#errors = 0;
    this.#start = now;
    return point;
  }

  /**
   * Close the last interval at the end of the run. A short tail is folded into the previous point
   * (`replaced`: the returned point stands for the last one kept before).
   */
  finish(now = Date.now()): { point: SeriesPoint; replaced: boolean } {
    const prev = this.points.at(-1);
    const previous = this.#previous;
    const ms = Math.round(Math.max(1, now - this.#start));
    if (!prev || !previous || ms >= SHORT_TAIL_MS) return { point: this.rotate(now), replaced: false };
    // The histograms themselves, where decoding the two points' encodings gave the same counts and
    // moments (the encoding is exact) at the cost of loading HdrHistogram's decoder at the end of a run.
    previous.add(this.#histogram);
    this.#totals?.add(this.#histogram);
    const folded = pointOf(prev.ts, prev.ms + ms, previous, prev.errors + this.#errors);
    this.points.splice(-1, 1, folded);
    this.#histogram.reset();
    this.#errors = 0;
    this.#start = now;
    return { point: folded, replaced: true };
  }
}

/** A final interval shorter than this is folded into the one before (a 10 ms tail would plot as noise). */
const SHORT_TAIL_MS = 500;

/**
 * Close the last interval at the end of the run. A short tail is folded into the previous point
 * (`replaced`: the returned point stands for the last one kept before).
 */
export function finishIntervals(
  rec: IntervalRecorder,
  now = Date.now(),
): { point: SeriesPoint; replaced: boolean } {
  return rec.finish(now);
}

export function pointOf(ts: number, ms: number, h: LatencyHistogram, errors: number): SeriesPoint {
  const s = h.summary();
  return {
    ts,
    ms: Math.round(ms),
    requests: h.count,
    errors,
    rps: Math.round((h.count * 1000 * 10) / ms) / 10,
    p50: s.p50,
    p99: s.p99,
    max: s.max,
    latency: h.encode(),
  };
}

/**
 * Merge the series of several workers or runs: points are put in one-second slots counted from the
 * earliest start, and points sharing a slot add their histograms (exact), requests and errors.
 */
export function mergeSeries(series: readonly (readonly SeriesPoint[])[]): SeriesPoint[] {
  const all = series.flat();
  if (all.length === 0) return [];
  const t0 = Math.min(...all.map((p) => p.ts));
  const slots = new Map<number, { h: LatencyHistogram; errors: number; ms: number }>();
  for (const p of all) {
    const slot = Math.round((p.ts - t0) / 1000);
    let s = slots.get(slot);
    if (!s) {
      s = { h: new LatencyHistogram(), errors: 0, ms: 0 };
      slots.set(slot, s);
    }
    s.h.add(LatencyHistogram.decode(p.latency));
    s.errors += p.errors;
    s.ms = Math.max(s.ms, p.ms);
  }
  return [...slots.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([slot, s]) => pointOf(t0 + slot * 1000, s.ms, s.h, s.errors));
}
