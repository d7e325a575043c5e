import { describe, expect, it } from 'vitest';
import type { Result } from '../../src/core/result.js';
import { LoadStats } from '../../src/load/stats.js';

function result(status: number | string | undefined, ok = true): Result {
  return {
    transport: 'http',
    target: 'http://127.0.0.1/',
    operation: 'GET',
    ok,
    exit: ok ? 0 : 1,
    ...(status !== undefined ? { status } : {}),
    ...(ok ? {} : { error: { kind: 'response', message: `status ${status}` } }),
    attempts: [{ n: 1, ok, ms: 1 }],
  } as Result;
}

describe('LoadStats', () => {
  it('counts statuses exactly however they alternate, and between reads of the totals', () => {
    const stats = new LoadStats();
    const sequence: (number | string | undefined)[] = [200, 200, 503, 200, 200, 404, 503, undefined, 200];
    for (const s of sequence) stats.record(result(s, s === 200), 1, 0);
    expect(stats.totals(1000).statuses).toEqual({ '200': 5, '503': 2, '404': 1 });
    // Read half-way, then more of the same status and of another.
    for (let i = 0; i < 10; i++) stats.record(result(200), 1, 0);
    stats.record(result('reply'), 1, 0);
    expect(stats.totals(1000).statuses).toEqual({ '200': 15, '503': 2, '404': 1, reply: 1 });
    expect(stats.totals(1000)).toMatchObject({ requests: 20, successes: 16, errors: 4 });
    // The summary lists the most frequent status first.
    expect(Object.keys(stats.totals(1000).statuses)[0]).toBe('200');
  });
});
