import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { LatencyHistogram } from '../../src/load/histogram.js';

const require = createRequire(import.meta.url);

describe('LatencyHistogram', () => {
  it('gives exact min/max/mean/stdev and percentiles within HDR precision (3 digits)', () => {
    const h = new LatencyHistogram();
    const values: number[] = [];
    for (let i = 1; i <= 1000; i++) {
      const ms = i * 0.5; // 0.5 ms .. 500 ms
      values.push(ms);
      h.record(ms);
    }
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    const stdev = Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (values.length - 1));
    const s = h.summary();
    expect(h.count).toBe(1000);
    expect(s.min).toBe(0.5);
    expect(s.max).toBe(500);
    expect(s.mean).toBeCloseTo(mean, 3);
    expect(s.stdev).toBeCloseTo(stdev, 3);
    // Nearest-rank percentiles: value at rank ceil(p * n) is (rank * 0.5) ms, within 0.1%.
    for (const [p, key] of [
      [50, 'p50'],
      [90, 'p90'],
      [99, 'p99'],
      [99.9, 'p999'],
    ] as const) {
      const exact = Math.ceil((p / 100) * 1000) * 0.5;
      expect(Math.abs(s[key] - exact) / exact).toBeLessThan(0.001);
    }
  });

  it('reads the same as a plain HDR histogram fed every value, however reads and records interleave', () => {
    // Values below 65.5 ms wait in a count array until a read; the encoding must not tell.
    type Plain = {
      recordValue(v: number): void;
      getValueAtPercentile(p: number): number;
      totalCount: number;
    };
    const Int32Histogram = (
      require('hdr-histogram-js/dist/Int32Histogram.js') as { default: new (...a: number[]) => Plain }
    ).default;
    const plain = new Int32Histogram(1, 3_600_000_000, 3);
    const h = new LatencyHistogram();
    const other = new LatencyHistogram();
    let seed = 7;
    const next = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    let maxMs = 0;
    for (let i = 0; i < 20_000; i++) {
      // Mostly sub-millisecond, some tens of ms, a few seconds: both sides of the threshold.
      const r = next();
      const ms = r < 0.8 ? r * 2 : r < 0.97 ? 10 + r * 80 : 1000 + r * 3000;
      const target = i % 3 === 0 ? other : h;
      target.record(ms);
      maxMs = Math.max(maxMs, ms);
      plain.recordValue(Math.round(ms * 1000));
      if (i % 4999 === 0) h.percentile(99); // a read half-way flushes; later records still count
    }
    h.add(other);
    expect(h.count).toBe(20_000);
    const decoded = LatencyHistogram.decode(h.encode());
    expect(plain.totalCount).toBe(20_000);
    for (let p = 0.5; p <= 100; p += 0.5) {
      const expected = Math.min(plain.getValueAtPercentile(p) / 1000, maxMs);
      expect(h.percentile(p)).toBe(expected);
      expect(decoded.percentile(p)).toBe(expected);
    }
    h.reset();
    expect(h.count).toBe(0);
    h.record(0.25);
    expect(h.percentile(50)).toBeCloseTo(0.25, 3);
  });

  it('is empty-safe and resets', () => {
    const h = new LatencyHistogram();
    expect(h.summary()).toEqual({ min: 0, mean: 0, stdev: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0 });
    expect(h.bins(8)).toEqual([]);
    h.record(10);
    expect(h.summary().p50).toBe(10);
    h.reset();
    expect(h.count).toBe(0);
    expect(h.summary().max).toBe(0);
  });

  it('clamps values beyond an hour and below zero instead of throwing', () => {
    const h = new LatencyHistogram();
    h.record(-1);
    h.record(5 * 3_600_000);
    expect(h.count).toBe(2);
    expect(h.summary().min).toBe(0);
    expect(h.percentile(100)).toBeLessThanOrEqual(5 * 3_600_000);
  });

  it('bins cover every recorded value, log-spaced from min to max', () => {
    const h = new LatencyHistogram();
    for (let i = 0; i < 900; i++) h.record(1 + (i % 10) * 0.01); // ~1 ms
    for (let i = 0; i < 100; i++) h.record(1000); // a 1 s stall
    const bins = h.bins(8);
    expect(bins).toHaveLength(8);
    expect(bins.reduce((a, b) => a + b.count, 0)).toBe(1000);
    expect(bins[0]?.fromMs).toBe(1);
    expect(bins.at(-1)?.toMs).toBe(1000);
    expect(bins[0]?.count).toBe(900);
    expect(bins.at(-1)?.count).toBe(100);
    for (let i = 1; i < 8; i++) expect(bins[i]?.fromMs).toBeCloseTo(bins[i - 1]?.toMs ?? 0, 9);
  });

  it('keeps fixed memory: a million values do not grow it', () => {
    const h = new LatencyHistogram();
    for (let i = 0; i < 1_000_000; i++) h.record((i % 5000) / 10);
    expect(h.count).toBe(1_000_000);
    expect(h.summary().p50).toBeCloseTo(250, 0);
  });
});
