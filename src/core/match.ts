import { isDeepStrictEqual } from 'node:util';
import { parseDuration } from './duration.js';
import { canonicalDecimal, ExactNumber, exactEqual, stringifyExact } from './exact-json.js';
import { evalPath } from './paths.js';

/**
 * The contract's matchers, one implementation for check files (`expect:`, `until:`) and the command
 * line's `--expect-json` (core/expectation.ts). A scalar is strict equality (a number also matches
 * its text, for int64 values that arrive as strings); `/re/flags` is a regex over the text; a map is a
 * matcher object whose every matcher must hold. Numbers a double cannot hold (ExactNumber, from
 * core/exact-json.ts) compare by exact decimal value; plain numbers as before.
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
  const s = stringifyExact(v);
  return s.length > 200 ? `${s.slice(0, 197)}...` : s;
}

function asText(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (v instanceof ExactNumber) return v.text;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  return undefined;
}

/** A number to compare: a plain number, or an exact one kept as its decimal text. */
type Num = number | ExactNumber;

function asNumber(v: unknown): Num | undefined {
  if (typeof v === 'number' || v instanceof ExactNumber) return v;
  if (typeof v === 'string' && v.trim() !== '') {
    const n = Number(v);
    if (Number.isFinite(n))
      return /^\s*-?\d/.test(v) && !numberHolds(v.trim()) ? new ExactNumber(v.trim()) : n;
    try {
      return parseDuration(v);
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** Does a double hold this numeric text exactly? */
function numberHolds(text: string): boolean {
  return /^-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?$/.test(text)
    ? canonicalDecimal(String(Number(text))) === canonicalDecimal(text)
    : true;
}

/** -1, 0 or 1; exact when either side is an ExactNumber (9007199254740993 > 9007199254740992). */
function compare(a: Num, b: Num): number {
  if (typeof a === 'number' && typeof b === 'number') return a < b ? -1 : a > b ? 1 : 0;
  return compareDecimal(canonicalDecimal(String(a)), canonicalDecimal(String(b)));
}

/** Compare two canonical decimals (`-123e-2`, `0`). */
function compareDecimal(a: string, b: string): number {
  const parse = (t: string) => {
    if (t === '0') return { sign: 0, digits: '', mag: 0 };
    const m = /^(-?)(\d+)e(-?\d+)$/.exec(t);
    if (!m) return { sign: 0, digits: '', mag: 0 };
    const digits = m[2] as string;
    return { sign: m[1] ? -1 : 1, digits, mag: digits.length + Number(m[3]) };
  };
  const x = parse(a);
  const y = parse(b);
  if (x.sign !== y.sign) return x.sign < y.sign ? -1 : 1;
  if (x.sign === 0) return 0;
  let abs: number;
  if (x.mag !== y.mag) abs = x.mag < y.mag ? -1 : 1;
  else {
    const len = Math.max(x.digits.length, y.digits.length);
    const dx = x.digits.padEnd(len, '0');
    const dy = y.digits.padEnd(len, '0');
    abs = dx === dy ? 0 : dx < dy ? -1 : 1;
  }
  return abs * x.sign;
}

/** Any ExactNumber inside? Only then do equalities use exact decimals (else as they always were). */
function mentionsExact(v: unknown): boolean {
  if (v instanceof ExactNumber) return true;
  if (Array.isArray(v)) return v.some(mentionsExact);
  if (v !== null && typeof v === 'object') return Object.values(v).some(mentionsExact);
  return false;
}

function deepEqual(a: unknown, b: unknown): boolean {
  return isDeepStrictEqual(a, b) || ((mentionsExact(a) || mentionsExact(b)) && exactEqual(a, b));
}

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (v instanceof ExactNumber) return 'number';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

function scalarEquals(expected: unknown, actual: unknown): boolean {
  if (deepEqual(expected, actual)) return true;
  // A proto int64 arrives as a string: a number matches its text.
  if ((typeof expected === 'number' || expected instanceof ExactNumber) && typeof actual === 'string')
    return actual === String(expected);
  return false;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof ExactNumber);

/** A recursive subset: every key of `part` is in `whole` with a matching value. */
function subset(part: unknown, whole: unknown): boolean {
  if (isPlainObject(part)) {
    if (!isPlainObject(whole)) return false;
    return Object.entries(part).every(([k, v]) => subset(v, whole[k]));
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
  if (isPlainObject(actual)) return subset(arg, actual);
  return false;
}

/** The comparison `op` (lt, lte, gt, gte) given compare()'s -1, 0 or 1. */
function comparisonHolds(op: string, c: number): boolean {
  return op === 'lt' ? c < 0 : op === 'lte' ? c <= 0 : op === 'gt' ? c > 0 : c >= 0;
}

/**
 * Judge `actual` (undefined when the path found nothing) against a matcher. Returns the failures,
 * each naming the expected and the actual value (empty: it holds).
 */
export function judge(actual: unknown, matcher: unknown): string[] {
  if (!isPlainObject(matcher)) {
    if (isRegexText(matcher)) {
      const text = asText(actual);
      return text !== undefined && toRegex(matcher).test(text)
        ? []
        : [`expected to match ${matcher}, got ${show(actual)}`];
    }
    if (Array.isArray(matcher))
      return deepEqual(matcher, actual) ? [] : [`expected ${show(matcher)}, got ${show(actual)}`];
    return scalarEquals(matcher, actual) ? [] : [`expected ${show(matcher)}, got ${show(actual)}`];
  }
  const fails: string[] = [];
  for (const [op, arg] of Object.entries(matcher as Record<string, unknown>)) {
    switch (op) {
      case 'eq':
        if (!deepEqual(arg, actual) && !scalarEquals(arg, actual))
          fails.push(`expected eq ${show(arg)}, got ${show(actual)}`);
        break;
      case 'ne':
        if (deepEqual(arg, actual) || scalarEquals(arg, actual))
          fails.push(`expected ne ${show(arg)}, got ${show(actual)}`);
        break;
      case 'lt':
      case 'lte':
      case 'gt':
      case 'gte': {
        const a = asNumber(actual);
        const b = asNumber(arg);
        const ok = a !== undefined && b !== undefined && comparisonHolds(op, compare(a, b));
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
            : isPlainObject(actual)
              ? Object.keys(actual).length
              : undefined;
        if (len === undefined) fails.push(`expected a length, got ${show(actual)}`);
        else for (const f of judge(len, arg)) fails.push(`length: ${f}`);
        break;
      }
      case 'type': {
        const t = typeOf(actual);
        const ok =
          arg === 'integer'
            ? Number.isInteger(actual) ||
              (actual instanceof ExactNumber && !/e-/.test(canonicalDecimal(actual.text)))
            : t === arg;
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
