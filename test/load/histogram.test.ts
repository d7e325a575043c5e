import { describe, expect, it } from 'vitest';
import { LatencyHistogram } from '../../src/load/histogram.js';

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
