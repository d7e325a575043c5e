import { UsageError } from '../errors/comms-error.js';

const UNIT_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * Parses the contract's duration syntax: `250ms`, `2s`, `1.5s`, `1m`, `1h`, `500us`.
 * A bare number is read as milliseconds (like autocannon/curl's `--max-time` users expect a unit; we accept both).
 * @throws UsageError naming the flag and the bad value.
 */
export function parseDuration(text: string, flag = 'duration'): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(us|ms|s|m|h)?\s*$/.exec(text);
  if (!m) {
    throw new UsageError(`invalid ${flag} '${text}'`, { hint: 'write durations like 250ms, 2s, 1.5s or 1m' });
  }
  const value = Number(m[1]);
  const unit = m[2] ?? 'ms';
  return value * (UNIT_MS[unit] ?? 1);
}

/** Formats milliseconds for people: `850µs`, `12.3ms`, `1.20s`, `2m05s`. */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return '-';
  if (ms < 1) return `${Math.round(ms * 1000)}µs`;
  if (ms < 100) return `${ms.toFixed(1)}ms`;
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(2)}s`;
  const min = Math.floor(ms / 60_000);
  const sec = Math.round((ms % 60_000) / 1000);
  return `${min}m${String(sec).padStart(2, '0')}s`;
}
