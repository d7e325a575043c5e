import { describe, expect, it } from 'vitest';
import { backoffDelay } from '../../src/middleware/backoff.js';
import { parseRetryAfter } from '../../src/transports/http/classify.js';

describe('backoff: full jitter, server hint honoured up to the cap', () => {
  it('stays within [0, min(cap, base*2^(n-1))]', () => {
    for (let n = 1; n < 10; n++) {
      for (let i = 0; i < 50; i++) {
        const d = backoffDelay(n, 100, 1000);
        expect(d).toBeGreaterThanOrEqual(0);
        expect(d).toBeLessThanOrEqual(Math.min(1000, 100 * 2 ** (n - 1)));
      }
    }
  });
  it('uses the whole range (random = 1 gives the ceiling)', () => {
    expect(backoffDelay(3, 100, 10_000, undefined, () => 1)).toBe(400);
    expect(backoffDelay(3, 100, 10_000, undefined, () => 0)).toBe(0);
  });
  it('Retry-After wins when longer, never beyond the cap', () => {
    expect(backoffDelay(1, 100, 5000, 2000, () => 0.5)).toBe(2000);
    expect(backoffDelay(1, 100, 1500, 2000, () => 0.5)).toBe(1500);
  });
  it('parses Retry-After seconds and HTTP-dates', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('3', now)).toBe(3000);
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:05 GMT', now)).toBe(5000);
    expect(parseRetryAfter('Wed, 31 Dec 2025 00:00:05 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });
});
