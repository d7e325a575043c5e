import { isDeepStrictEqual } from 'node:util';
import { parseDuration } from '../core/duration.js';
import { evalPath } from './paths.js';

/**
 * The contract's matchers. A scalar is strict equality (a number also matches its text, for int64
 * values that arrive as strings); `/re/flags` is a regex over the text; a map is a matcher object
 * whose every matcher must hold.
 */
export const MATCHER_OPS = [
  'eq',
  'ne',
  'lt',
  'lte',
  'gt',
  'gte',
  'contains',
  'matches',
  'exists',
  'length',
  'type',
] as const;
export const TYPE_NAMES = ['string', 'number', 'integer', 'boolean', 'null', 'array', 'object'] as const;

const REGEX = /^\/(.*)\/([dgimsuvy]*)$/s;

export function isRegexText(v: unknown): v is string {
  return typeof v === 'string' && REGEX.test(v) && v.length >= 2;
}

export function toRegex(text: string): RegExp {
  const m = REGEX.exec(text);
  if (!m) return new RegExp(text);
  return new RegExp(m[1] ?? '', (m[2] ?? '').replace('g', ''));
}

/** Throws a readable message when a matcher (as written in a file) is malformed. */
export function checkMatcher(m: unknown, where = 'matcher'): void {
  if (isRegexText(m)) {
    try {
      toRegex(m);
    } catch (err) {
      throw new Error(`${where}: bad regex ${m}: ${(err as Error).message}`);
    }
    return;
  }
  if (m === null || typeof m !== 'object' || Array.isArray(m)) return;
  for (const [op, arg] of Object.entries(m)) {
    if (!(MATCHER_OPS as readonly string[]).includes(op))
      throw new Error(`${where}: unknown matcher '${op}' (one of ${MATCHER_OPS.join(', ')})`);
    if (op === 'exists' && typeof arg !== 'boolean') throw new Error(`${where}: exists takes true or false`);
    if (op === 'type' && !(TYPE_NAMES as readonly string[]).includes(String(arg)))
      throw new Error(`${where}: type is one of ${TYPE_NAMES.join(', ')}`);
    if (op === 'matches' && typeof arg === 'string') {
      try {
        toRegex(arg.startsWith('/') ? arg : `/${arg}/`);
      } catch (err) {
        throw new Error(`${where}: bad regex ${arg}: ${(err as Error).message}`);
      }
    }
    if (op === 'length') checkMatcher(arg, `${where}.length`);
  }
}

export function show(v: unknown): string {
  if (v === undefined) return '(absent)';
  const s = JSON.stringify(v);
  return s.length > 200 ? `${s.slice(0, 197)}...` : s;
}

function asText(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  return undefined;
}

function asNumber(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && v.trim() !== '') {
    const n = Number(v);
    if (Number.isFinite(n)) return n;
    try {
      return parseDuration(v);
    } catch {
      return undefined;
    }
  }
  return undefined;
}

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

function scalarEquals(expected: unknown, actual: unknown): boolean {
  if (isDeepStrictEqual(expected, actual)) return true;
  // A proto int64 arrives as a string: a number matches its text.
  if (typeof expected === 'number' && typeof actual === 'string') return actual === String(expected);
  return false;
}

/** A recursive subset: every key of `part` is in `whole` with a matching value. */
function subset(part: unknown, whole: unknown): boolean {
  if (part !== null && typeof part === 'object' && !Array.isArray(part)) {
    if (whole === null || typeof whole !== 'object' || Array.isArray(whole)) return false;
    return Object.entries(part).every(([k, v]) => subset(v, (whole as Record<string, unknown>)[k]));
  }
  if (Array.isArray(part)) {
    if (!Array.isArray(whole)) return false;
    return part.every((p) => whole.some((w) => subset(p, w)));
  }
  return scalarEquals(part, whole);
}

function contains(actual: unknown, arg: unknown): boolean {
  if (typeof actual === 'string')
    return typeof arg === 'string' ? actual.includes(arg) : actual.includes(String(arg));
  if (Array.isArray(actual)) return actual.some((el) => scalarEquals(arg, el) || subset(arg, el));
  if (actual !== null && typeof actual === 'object') return subset(arg, actual);
  return false;
}

/**
 * Judge `actual` (undefined when the path found nothing) against a matcher. Returns the failures,
 * each naming the expected and the actual value (empty: it holds).
 */
export function judge(actual: unknown, matcher: unknown): string[] {
  if (matcher === null || typeof matcher !== 'object' || Array.isArray(matcher)) {
    if (isRegexText(matcher)) {
      const text = asText(actual);
      return text !== undefined && toRegex(matcher).test(text)
        ? []
        : [`expected to match ${matcher}, got ${show(actual)}`];
    }
    if (Array.isArray(matcher))
      return isDeepStrictEqual(matcher, actual) ? [] : [`expected ${show(matcher)}, got ${show(actual)}`];
    return scalarEquals(matcher, actual) ? [] : [`expected ${show(matcher)}, got ${show(actual)}`];
  }
  const fails: string[] = [];
  for (const [op, arg] of Object.entries(matcher as Record<string, unknown>)) {
    switch (op) {
      case 'eq':
        if (!isDeepStrictEqual(arg, actual) && !scalarEquals(arg, actual))
          fails.push(`expected eq ${show(arg)}, got ${show(actual)}`);
        break;
      case 'ne':
        if (isDeepStrictEqual(arg, actual) || scalarEquals(arg, actual))
          fails.push(`expected ne ${show(arg)}, got ${show(actual)}`);
        break;
      case 'lt':
      case 'lte':
      case 'gt':
      case 'gte': {
        const a = asNumber(actual);
        const b = asNumber(arg);
        const ok =
          a !== undefined &&
          b !== undefined &&
          (op === 'lt' ? a < b : op === 'lte' ? a <= b : op === 'gt' ? a > b : a >= b);
        if (!ok) fails.push(`expected ${op} ${show(arg)}, got ${show(actual)}`);
        break;
      }
      case 'contains':
        if (!contains(actual, arg)) fails.push(`expected to contain ${show(arg)}, got ${show(actual)}`);
        break;
      case 'matches': {
        const text = asText(actual);
        const re = toRegex(String(arg).startsWith('/') ? String(arg) : `/${String(arg)}/`);
        if (text === undefined || !re.test(text))
          fails.push(`expected to match ${show(arg)}, got ${show(actual)}`);
        break;
      }
      case 'exists':
        if ((actual !== undefined) !== arg)
          fails.push(
            arg ? 'expected to exist, but it is absent' : `expected to be absent, got ${show(actual)}`,
          );
        break;
      case 'length': {
        const len =
          typeof actual === 'string' || Array.isArray(actual)
            ? actual.length
            : actual !== null && typeof actual === 'object'
              ? Object.keys(actual).length
              : undefined;
        if (len === undefined) fails.push(`expected a length, got ${show(actual)}`);
        else for (const f of judge(len, arg)) fails.push(`length: ${f}`);
        break;
      }
      case 'type': {
        const t = typeOf(actual);
        const ok = arg === 'integer' ? Number.isInteger(actual) : t === arg;
        if (!ok) fails.push(`expected type ${String(arg)}, got ${actual === undefined ? 'absent' : t}`);
        break;
      }
      default:
        fails.push(`unknown matcher '${op}'`);
    }
  }
  return fails;
}

/** Judge an `expect`/`until` map `{PATH: matcher}` over a document; failures name the path. */
export function judgeAll(doc: unknown, expect: Readonly<Record<string, unknown>>): string[] {
  const fails: string[] = [];
  for (const [path, matcher] of Object.entries(expect)) {
    const r = evalPath(doc, path);
    for (const f of judge(r.found ? r.value : undefined, matcher)) fails.push(`${path}: ${f}`);
  }
  return fails;
}
