import { UsageError } from '../errors/comms-error.js';
import { formatMs, parseDuration } from './duration.js';

/**
 * Options are data (as vitest's cli-config): every option is declared once, as a typed entry with its
 * flag, help, parser and default. commander's --help, the docs' option tables, check-file step keys
 * and the runtime all read that one entry, and the value type of a command's options is inferred from
 * its table, so an option cannot be declared twice or drift from its parser.
 */

/** The value kinds a check file and the docs understand. */
export type OptionKind = 'text' | 'integer' | 'number' | 'duration' | 'boolean' | 'path' | 'list' | 'enum';

export interface OptionEntry<V> {
  /** commander's flag syntax: `-H, --header <header>`, `--no-ack`. */
  readonly flags: string;
  readonly help: string;
  readonly kind: OptionKind;
  /** Repeatable: every occurrence is parsed and collected into a list. */
  readonly repeatable: boolean;
  /** The value when the flag is absent (already parsed). */
  readonly default: V;
  /** How --help and the docs show the default (absent: no default shown). */
  readonly defaultText?: string;
  /** Fixed values (enum), for help, completion and check-file validation. */
  readonly choices?: readonly string[];
  /** Carries a credential: redacted wherever options are shown. */
  readonly secret?: boolean;
  /** Parse one occurrence; throws UsageError naming the flag. Absent for booleans. */
  readonly parse?: (raw: string, flag: string) => unknown;
}

/** A table of option entries keyed by commander's camelCase attribute name. */
export type OptionTable = Readonly<Record<string, OptionEntry<unknown>>>;

/** The parsed values of a table: what a command receives, never raw flags. */
export type OptionValues<T extends OptionTable> = {
  -readonly [K in keyof T]: T[K] extends OptionEntry<infer V> ? V : never;
};

interface Common {
  secret?: boolean;
}

/** The long flag name of an entry (`--max-time`). */
export function longFlag(entry: Pick<OptionEntry<unknown>, 'flags'>): string {
  const m = /--[a-z0-9-]+/i.exec(entry.flags);
  return m ? m[0] : entry.flags;
}

/** How messages name an entry: `-n/--requests` when it has a short form, else `--max-time`. */
export function flagLabel(entry: Pick<OptionEntry<unknown>, 'flags'>): string {
  const short = /^(-[a-zA-Z])\b/.exec(entry.flags.trim());
  return short ? `${short[1]}/${longFlag(entry)}` : longFlag(entry);
}

// ---- parsers (each throws a UsageError naming the flag and the bad value) ----

export function parseWhole(raw: string, flag: string, { min = 0, max }: { min?: number; max?: number } = {}) {
  const text = raw.trim();
  if (!/^\d+$/.test(text) || Number(text) < min || (max !== undefined && Number(text) > max)) {
    const range = max !== undefined ? ` from ${min} to ${max}` : min > 0 ? ` >= ${min}` : '';
    throw new UsageError(`invalid ${flag} '${raw}': expected a whole number${range}`);
  }
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw new UsageError(`invalid ${flag} '${raw}': too large`);
  return n;
}

export function parseNonNegative(raw: string, flag: string): number {
  const n = Number(raw.trim());
  if (raw.trim() === '' || !Number.isFinite(n) || n < 0)
    throw new UsageError(`invalid ${flag} '${raw}': expected a number`);
  return n;
}

/**
 * A fraction written as `0.3` or `30%` (both mean the same everywhere: fail rates, error rates).
 * Returns the fraction 0..1.
 */
export function parseFraction(raw: string, flag: string): number {
  const text = raw.trim();
  const percent = text.endsWith('%');
  const n = Number(percent ? text.slice(0, -1) : text);
  const fraction = percent ? n / 100 : n;
  if (text === '' || !Number.isFinite(n) || fraction < 0 || fraction > 1)
    throw new UsageError(`invalid ${flag} '${raw}': expected a fraction 0..1 or a percentage such as 30%`);
  return fraction;
}

// ---- builders: each returns an entry whose value type follows from its default ----

function entry<V>(
  flags: string,
  help: string,
  kind: OptionKind,
  init: Partial<OptionEntry<V>> & { default: V },
): OptionEntry<V> {
  return { flags, help, kind, repeatable: false, ...init };
}

/** Free text. */
export function text(flags: string, help: string, o?: Common): OptionEntry<string | undefined>;
export function text(flags: string, help: string, o: Common & { default: string }): OptionEntry<string>;
export function text(
  flags: string,
  help: string,
  o: Common & { default?: string } = {},
): OptionEntry<string | undefined> {
  return entry(flags, help, 'text', {
    default: o.default,
    ...(o.default !== undefined ? { defaultText: o.default } : {}),
    ...(o.secret ? { secret: true } : {}),
    parse: (raw) => raw,
  });
}

/** A file path (relative to the working directory; a check file makes it relative to itself). */
export function path(flags: string, help: string, o: Common = {}): OptionEntry<string | undefined> {
  return entry(flags, help, 'path', {
    default: undefined,
    ...(o.secret ? { secret: true } : {}),
    parse: (raw, flag) => {
      if (raw === '') throw new UsageError(`${flag} needs a file name`);
      return raw;
    },
  });
}

interface IntegerOpts extends Common {
  min?: number;
  max?: number;
}
/** A whole number, optionally bounded. */
export function integer(flags: string, help: string, o?: IntegerOpts): OptionEntry<number | undefined>;
export function integer(
  flags: string,
  help: string,
  o: IntegerOpts & { default: number },
): OptionEntry<number>;
export function integer(
  flags: string,
  help: string,
  o: IntegerOpts & { default?: number } = {},
): OptionEntry<number | undefined> {
  const bounds = {
    ...(o.min !== undefined ? { min: o.min } : {}),
    ...(o.max !== undefined ? { max: o.max } : {}),
  };
  return entry(flags, help, 'integer', {
    default: o.default,
    ...(o.default !== undefined ? { defaultText: String(o.default) } : {}),
    parse: (raw, flag) => parseWhole(raw, flag, bounds),
  });
}

/** A non-negative number (rates, percentages without the sign). */
export function number(
  flags: string,
  help: string,
  o: { default?: number; max?: number } = {},
): OptionEntry<number | undefined> {
  return entry(flags, help, 'number', {
    default: o.default,
    ...(o.default !== undefined ? { defaultText: String(o.default) } : {}),
    parse: (raw, flag) => {
      const n = parseNonNegative(raw.replace(/%$/, ''), flag);
      if (o.max !== undefined && n > o.max)
        throw new UsageError(`invalid ${flag} '${raw}': at most ${o.max}`);
      return n;
    },
  });
}

/** A fraction, `0.3` or `30%`; the value is 0..1. */
export function fraction(flags: string, help: string): OptionEntry<number | undefined> {
  return entry(flags, help, 'number', { default: undefined, parse: parseFraction });
}

/** Longest timer Node can arm (2^31-1 ms, ~24.8 days): longer ones fire at once. */
export const MAX_TIMER_MS = 2_147_483_647;

/** A duration (`250ms`, `2s`, `1m`); the value is milliseconds. */
export function duration(flags: string, help: string, o?: Common): OptionEntry<number | undefined>;
export function duration(flags: string, help: string, o: Common & { default: number }): OptionEntry<number>;
export function duration(
  flags: string,
  help: string,
  o: Common & { default?: number } = {},
): OptionEntry<number | undefined> {
  return entry(flags, help, 'duration', {
    default: o.default,
    ...(o.default !== undefined ? { defaultText: formatDefaultDuration(o.default) } : {}),
    parse: (raw, flag) => {
      const ms = parseDuration(raw, flag);
      if (ms > MAX_TIMER_MS)
        throw new UsageError(`invalid ${flag} '${raw}': longer than the 24.8-day timer limit`);
      return ms;
    },
  });
}

function formatDefaultDuration(ms: number): string {
  if (ms === 0) return '0';
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  if (Number.isInteger(ms)) return `${ms}ms`;
  return formatMs(ms);
}

/** A switch: present is true. `--no-x` flags are switches whose default is true. */
export function flag(flags: string, help: string, o: Common = {}): OptionEntry<boolean> {
  const negated = /(^|\s)--no-/.test(flags);
  return entry(flags, help, 'boolean', { default: negated, ...(o.secret ? { secret: true } : {}) });
}

/** One of a fixed set of words. */
export function choice<const C extends string>(
  flags: string,
  help: string,
  choices: readonly C[],
): OptionEntry<C | undefined>;
export function choice<const C extends string>(
  flags: string,
  help: string,
  choices: readonly C[],
  o: { default: C },
): OptionEntry<C>;
export function choice<const C extends string>(
  flags: string,
  help: string,
  choices: readonly C[],
  o: { default?: C } = {},
): OptionEntry<C | undefined> {
  return entry(flags, help, 'enum', {
    default: o.default,
    ...(o.default !== undefined ? { defaultText: o.default } : {}),
    choices,
    parse: (raw, name) => {
      const value = raw.trim();
      if (!(choices as readonly string[]).includes(value))
        throw new UsageError(`invalid ${name} '${raw}': expected one of ${choices.join(', ')}`);
      return value;
    },
  });
}

/**
 * A repeatable option. Each occurrence is parsed by `each` (default: kept as text) and collected.
 * Check files write these as a list, or as a map for `Name: value` / `name=value` flags (`mapSyntax`).
 */
export function list<T = string>(
  flags: string,
  help: string,
  o: Common & { each?: (raw: string, flag: string) => T; mapSyntax?: ': ' | '=' } = {},
): OptionEntry<T[]> & { readonly mapSyntax?: ': ' | '=' } {
  return {
    ...entry<T[]>(flags, help, 'list', { default: [], parse: o.each ?? ((raw) => raw) }),
    repeatable: true,
    ...(o.secret ? { secret: true } : {}),
    ...(o.mapSyntax ? { mapSyntax: o.mapSyntax } : {}),
  };
}

/**
 * The typed values of `table` out of a command's parsed options. commander has already run every
 * parser and applied every default, so this only selects the table's keys (and fills a default that a
 * shared table attached to another command may have left unset).
 */
export function readOptions<T extends OptionTable>(table: T, opts: Record<string, unknown>): OptionValues<T> {
  const values: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(table)) {
    const value = opts[key];
    values[key] = value === undefined ? spec.default : value;
  }
  return values as OptionValues<T>;
}

/**
 * Parse raw option text (as a check file or a test holds it) through the table's own parsers, so every
 * path accepts and rejects the same text as the command line. Absent keys take their defaults.
 */
export function parseValues<T extends OptionTable>(
  table: T,
  raw: Readonly<Record<string, string | readonly string[] | boolean | undefined>>,
): OptionValues<T> {
  const parsed: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(table)) {
    const value = raw[key];
    if (value === undefined || typeof value === 'boolean' || !spec.parse) {
      parsed[key] = value;
      continue;
    }
    const parse = spec.parse;
    const label = flagLabel(spec);
    parsed[key] = Array.isArray(value)
      ? value.map((v) => parse(v, label))
      : spec.repeatable
        ? [parse(value as string, label)]
        : parse(value as string, label);
  }
  return readOptions(table, parsed);
}
