import { UsageError } from '../errors/comms-error.js';

const UNIT_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * Parses the contract's duration syntax: `250ms`, `2s`, `1.5s`, `1m`, `1h`, `500us`, and compound
 * durations as Go and grpcurl write them: `1m30s`, `1h2m3.5s`, `2s500ms` (each unit at most once, largest first).
 * A bare number is read as milliseconds (like autocannon/curl's `--max-time` users expect a unit; we accept both).
 * @throws UsageError naming the flag and the bad value.
 */
export function parseDuration(text: string, flag = 'duration'): number {
  const bad = () =>
    new UsageError(`invalid ${flag} '${text}'`, {
      hint: 'write durations like 250ms, 2s, 1.5s, 1m or 1m30s',
    });
  const trimmed = text.trim();
  const bare = /^(\d+(?:\.\d+)?)\s*(us|ms|s|m|h)?$/.exec(trimmed);
  if (bare) return Number(bare[1]) * (UNIT_MS[bare[2] ?? 'ms'] ?? 1);
  // Compound: every part carries its unit; units strictly decrease (h, m, s, ms, us).
  const ORDER = ['h', 'm', 's', 'ms', 'us'];
  let total = 0;
  let last = -1;
  let rest = trimmed;
  if (rest === '') throw bad();
  while (rest !== '') {
    const part = /^(\d+(?:\.\d+)?)(us|ms|s|m|h)/.exec(rest);
    if (!part) throw bad();
    const at = ORDER.indexOf(part[2] as string);
    if (at <= last) throw bad();
    last = at;
    total += Number(part[1]) * (UNIT_MS[part[2] as string] ?? 1);
    rest = rest.slice(part[0].length);
  }
  return total;
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
