import { didYouMean } from '../../core/did-you-mean.js';
import { UsageError } from '../../errors/comms-error.js';

/** gRPC status codes by number, as the contract prints them (`status` in --json). */
export const STATUS_NAMES: readonly string[] = [
  'OK',
  'CANCELLED',
  'UNKNOWN',
  'INVALID_ARGUMENT',
  'DEADLINE_EXCEEDED',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED',
  'FAILED_PRECONDITION',
  'ABORTED',
  'OUT_OF_RANGE',
  'UNIMPLEMENTED',
  'INTERNAL',
  'UNAVAILABLE',
  'DATA_LOSS',
  'UNAUTHENTICATED',
];

/** The code of a status name (`UNAVAILABLE` -> 14); -1 for a name that is not one. */
export const codeOf = (name: string): number => STATUS_NAMES.indexOf(name);

/**
 * A status code as the gRPC spec reads it: anything outside 0-16 (a server's 99, a trailer that is
 * not a number) is UNKNOWN, never passed on as is.
 */
export function normalizeCode(code: unknown): number {
  return typeof code === 'number' && Number.isInteger(code) && code >= 0 && code < STATUS_NAMES.length
    ? code
    : 2;
}

/** The name of a status code (`14` -> `UNAVAILABLE`); out-of-range codes are `UNKNOWN`. */
export function statusName(code: number): string {
  return STATUS_NAMES[normalizeCode(code)] as string;
}

/**
 * A status code from a name (`UNAVAILABLE`, `unavailable`) or a number (`14`).
 * @returns undefined when it is neither.
 */
export function statusCodeOf(text: string): number | undefined {
  const t = text.trim();
  if (/^\d+$/.test(t)) {
    const n = Number(t);
    return n >= 0 && n < STATUS_NAMES.length ? n : undefined;
  }
  const i = STATUS_NAMES.indexOf(t.toUpperCase().replace(/-/g, '_'));
  return i >= 0 ? i : undefined;
}

/**
 * `--retry-on 'RESOURCE_EXHAUSTED,ABORTED'` (names or numbers 1-16) as status codes; OK cannot be
 * retried. Throws a UsageError naming the flag and the bad code.
 */
export function parseStatusCodes(raw: string, flag: string): number[] {
  return raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => {
      const code = statusCodeOf(s);
      if (code === undefined || code === 0) {
        throw new UsageError(`invalid ${flag} code '${s}'`, {
          hint: 'use status names like UNAVAILABLE,RESOURCE_EXHAUSTED or numbers 1-16',
        });
      }
      return code;
    });
}

/**
 * `--expect-status 'OK,NOT_FOUND'`: names (any case, `-` for `_`) or numbers 0-16, comma-separated.
 * Throws a UsageError naming the flag and the bad code, with the closest name.
 */
export function parseExpectedStatuses(raw: string, flag: string): ReadonlySet<number> {
  const parts = raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (parts.length === 0)
    throw new UsageError(`invalid ${flag} '${raw}'`, { hint: 'give status names like OK or NOT_FOUND' });
  const codes = new Set<number>();
  for (const s of parts) {
    const code = statusCodeOf(s);
    if (code === undefined) {
      const guess = didYouMean(s.toUpperCase().replace(/-/g, '_'), STATUS_NAMES);
      throw new UsageError(
        `invalid ${flag} '${s}': not a gRPC status${guess}`,
        guess ? {} : { hint: 'use names such as OK, NOT_FOUND, UNAVAILABLE, or numbers 0-16' },
      );
    }
    codes.add(code);
  }
  return codes;
}
