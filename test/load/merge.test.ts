import { describe, expect, it } from 'vitest';
import { LatencyHistogram } from '../../src/load/histogram.js';
import { mergeSummaries } from '../../src/load/merge.js';
import { finishIntervals, IntervalRecorder, mergeSeries, pointOf } from '../../src/load/series.js';
import type { LoadSummary } from '../../src/load/summary.js';

/** A deterministic spread of latencies over three orders of magnitude (a long tail). */
function dataSet(n: number): number[] {
  let x = 12345;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) % 2147483648;
    const u = x / 2147483648;
    out.push(0.2 + 20 * u + (u > 0.99 ? 400 * u : 0));
  }
  return out;
}

function summaryOf(values: readonly number[], startMs: number, durationMs: number, errors = 0): LoadSummary {
  const h = new LatencyHistogram();
  const iv = new IntervalRecorder(startMs);
  values.forEach((v, i) => {
    h.record(v);
    iv.record(v, i >= errors);
    if ((i + 1) % 500 === 0) iv.rotate(startMs + ((i + 1) / values.length) * durationMs);
  });
  return {
    type: 'summary',
    transport: 'http',
    target: 'http://127.0.0.1/',
    operation: 'GET',
    ok: true,
    exit: 0,
    mode: 'closed',
    concurrency: 10,
    warmupMs: 0,
    requests: values.length,
    successes: values.length - errors,
    errors,
    errorRate: (100 * errors) / values.length,
    rps: values.length / (durationMs / 1000),
    bytes: 0,
    bytesPerSec: 0,
    durationMs,
    latency: h.summary(),
    statuses: { '200': values.length - errors, '500': errors },
    errorKinds: errors > 0 ? { response: errors } : {},
    attempts: values.length,
    retries: 0,
    shortCircuits: 0,
    interrupted: 0,
    gates: [],
    startedAt: new Date(startMs).toISOString(),
    endedAt: new Date(startMs + durationMs).toISOString(),
    histogram: h.encode(),
    series: iv.points,
  };
}

describe('exact merges', () => {
  const all = dataSet(30_000);
  const whole = new LatencyHistogram();
  for (const v of all) whole.record(v);

  it('merging the histograms of a split data set gives the percentiles of one histogram of all of it', () => {
    const parts = [all.slice(0, 7_000), all.slice(7_000, 19_000), all.slice(19_000)];
    const merged = new LatencyHistogram();
    for (const part of parts) {
      const h = new LatencyHistogram();
      for (const v of part) h.record(v);
      // Through the wire format, as workers and --json files carry it.
      merged.add(LatencyHistogram.decode(JSON.parse(JSON.stringify(h.encode()))));
    }
    const a = merged.summary();
    const b = whole.summary();
    expect(a.p50).toBe(b.p50);
    expect(a.p90).toBe(b.p90);
    expect(a.p99).toBe(b.p99);
    expect(a.p999).toBe(b.p999);
    expect(a.min).toBe(b.min);
    expect(a.max).toBe(b.max);
    expect(a.mean).toBeCloseTo(b.mean, 6);
    expect(a.stdev).toBeCloseTo(b.stdev, 6);
    expect(merged.count).toBe(all.length);
    // Averaging the parts' p99s would be wrong: the tail sits unevenly across the parts.
    for (const p of [50, 99, 99.9]) expect(merged.percentile(p)).toBe(whole.percentile(p));
  });

  it('encodes as HdrHistogram V2 compressed base64 (the cookie other HdrHistograms read)', () => {
    const e = whole.encode();
    const bytes = Buffer.from(e.hdr, 'base64');
    expect(bytes.readInt32BE(0)).toBe(0x1c849314);
    expect(LatencyHistogram.decode(e).summary()).toEqual(whole.summary());
  });

  it('mergeSummaries adds counts, sums statuses, spans the union window and judges the merged data', () => {
    const t0 = Date.parse('2026-01-01T00:00:00Z');
    const a = summaryOf(all.slice(0, 10_000), t0, 10_000, 5);
    const b = summaryOf(all.slice(10_000), t0 + 5_000, 10_000, 0);
    a.gates = [{ flag: '--expect-p99', figure: 'p99', limit: 1, actual: 0, ok: true, message: '' }];
    const m = mergeSummaries([
      { name: 'a', summary: a },
      { name: 'b', summary: b },
    ]);
    expect(m.requests).toBe(30_000);
    expect(m.errors).toBe(5);
    expect(m.statuses).toEqual({ '200': 29_995, '500': 5 });
    expect(m.durationMs).toBe(15_000); // union of [0,10s] and [5s,15s]
    expect(m.rps).toBe(2000);
    expect(m.latency.p99).toBe(whole.summary().p99);
    expect(m.startedAt).toBe(a.startedAt);
    expect(m.endedAt).toBe(b.endedAt);
    expect(m.workers?.map((w) => [w.name, w.requests])).toEqual([
      ['a', 10_000],
      ['b', 20_000],
    ]);
    // The gate the runs had is judged on the merged p99 (far above 1 ms): exit 1.
    expect(m.gates[0]?.ok).toBe(false);
    expect(m.exit).toBe(1);
    // Series: points sharing a second add up; nothing is lost.
    expect(m.series.reduce((s, p) => s + p.requests, 0)).toBe(30_000);
    expect(mergeSeries([a.series, b.series]).reduce((s, p) => s + p.errors, 0)).toBe(5);
  });

  it('a lost part marks the result partial: exit 3 unless allowed', () => {
    const t0 = Date.now();
    const a = summaryOf(all.slice(0, 1000), t0, 1000);
    const lost = { name: 'w3', requests: 10, errors: 0, rps: 10 };
    const m = mergeSummaries([{ name: 'w1', summary: a }], { lost: [lost] });
    expect(m.partial).toBe(true);
    expect(m.lost).toEqual(['w3']);
    expect(m.exit).toBe(3);
    expect(m.error?.message).toMatch(/lost w3/);
    expect(mergeSummaries([{ name: 'w1', summary: a }], { lost: [lost], allowPartial: true }).exit).toBe(0);
  });
});

describe('finishIntervals', () => {
  it('folds a short tail into the last point: the buckets of one histogram of both intervals', () => {
    const values = dataSet(1500);
    const iv = new IntervalRecorder(1_000_000);
    const both = new LatencyHistogram();
    values.forEach((v, i) => {
      iv.record(v, i % 100 !== 0);
      both.record(v);
      if (i === 499) iv.rotate(1_001_000);
    });
    const { point, replaced } = finishIntervals(iv, 1_001_200);
    expect(replaced).toBe(true);
    expect(iv.points).toHaveLength(1);
    const whole = pointOf(1_000_000, 1_000 + 200, both, 15);
    // Buckets add exactly; the moments combine (Chan et al.) to within rounding of recording them in one.
    const { latency, ...figures } = point;
    const { latency: wholeLatency, ...wholeFigures } = whole;
    expect(figures).toEqual(wholeFigures);
    expect(latency.hdr).toBe(wholeLatency.hdr);
    expect([latency.count, latency.min, latency.max]).toEqual([
      wholeLatency.count,
      wholeLatency.min,
      wholeLatency.max,
    ]);
    expect(latency.mean).toBeCloseTo(wholeLatency.mean, 9);
    expect(latency.m2 / wholeLatency.m2).toBeCloseTo(1, 9);
    expect(iv.points[0]).toBe(point);
  });

  it('keeps a tail of 500 ms or more as its own point', () => {
    const iv = new IntervalRecorder(0);
    iv.record(1, true);
    iv.rotate(1_000);
    iv.record(2, false);
    const { point, replaced } = finishIntervals(iv, 1_500);
    expect(replaced).toBe(false);
    expect(iv.points.map((p) => [p.ts, p.ms, p.requests, p.errors])).toEqual([
      [0, 1_000, 1, 0],
      [1_000, 500, 1, 1],
    ]);
    expect(point).toBe(iv.points[1]);
  });
});
