import { UsageError } from '../errors/comms-error.js';
import { parseDuration } from './duration.js';
import { ExactNumber, parseExact, stringifyExact } from './exact-json.js';
import { type ResultCheck, textMatcher } from './expect.js';
import { parseHeader } from './input.js';
import { judge } from './match.js';
import { checkPath, evalPath, loadPathEngine, singularSteps } from './paths.js';

/**
 * The command line's expectations over a reply, one implementation for every transport:
 * `--expect-json 'PATH OP VALUE'`, `--expect-body`, `--expect-header` (command/expect-options.ts
 * declares them). A transport says only what its reply's body, JSON and headers are (`ReplyView`).
 *
 * `--expect-json` judges with the check files' matchers (core/match.ts), over the same paths
 * (core/paths.ts, `$` is the body): `=` equality (`/re/` a regex), `!=`, and `<`, `<=`, `>`, `>=`
 * (numbers compared exactly, durations as ms). `$.items.length` is the length of a list or string.
 */

/** What a transport's reply is to the expectations. */
export interface ReplyView {
  /** The payload as text (`--expect-body`). */
  text(): string;
  /** The payload as JSON; throws (SyntaxError) when it is not JSON. Numbers stay exact. */
  json(): unknown;
  /** Headers / metadata / message properties, names lower-case; undefined when the reply has none. */
  headers(): Readonly<Record<string, unknown>> | undefined;
}

/** How the payload is named in failure messages: `body` (HTTP), `reply`, `response`, `message`. */
export interface ExpectWording {
  readonly payload: string;
  /** Redact secret header values in messages (unless --show-secrets). */
  redact?(name: string, value: string): string;
}

export interface ExpectFlags {
  expectHeader?: readonly string[];
  expectBody?: readonly string[];
  expectJson?: readonly string[];
}

/** One `--expect-json` spec, parsed: judges a document, returning a failure or undefined. */
export interface JsonExpectation {
  readonly spec: string;
  readonly path: string;
  judge(doc: unknown): string | undefined;
}

const OPERATORS = ['!=', '>=', '<=', '==', '=', '>', '<'] as const;
type Operator = (typeof OPERATORS)[number];
const MATCHER_OF: Record<string, string> = { '>': 'gt', '>=': 'gte', '<': 'lt', '<=': 'lte' };
const REGEX_TEXT = /^\/.*\/[dgimsuy]*$/s;

/** Split `PATH OP VALUE` at the first operator outside brackets and quotes (filters may hold `>`). */
function splitSpec(spec: string): { path: string; op: Operator; value: string } | undefined {
  let depth = 0;
  let quote: string | undefined;
  for (let i = 0; i < spec.length; i++) {
    const ch = spec[i] as string;
    if (quote) {
      if (ch === '\\') i++;
      else if (ch === quote) quote = undefined;
      continue;
    }
    if (ch === "'" || ch === '"') quote = ch;
    else if (ch === '[' || ch === '(') depth++;
    else if (ch === ']' || ch === ')') depth--;
    else if (depth === 0) {
      const op = OPERATORS.find((o) => spec.startsWith(o, i));
      if (op) return { path: spec.slice(0, i).trim(), op, value: spec.slice(i + op.length) };
    }
  }
  return undefined;
}

/** `items[0].id` and `[0]` are written without the `$` by habit (HTTP took them): the body's root. */
function rootPath(path: string): string {
  if (path.startsWith('$')) return path;
  return path.startsWith('[') ? `$${path}` : `$.${path}`;
}

/** A value at a path, where a last `.length` that is not a key is the length of a list, string or map. */
function valueAt(doc: unknown, path: string): { found: boolean; value?: unknown } {
  const r = evalPath(doc, path);
  if (r.found || !path.endsWith('.length')) return r;
  const parent = evalPath(doc, path.slice(0, -'.length'.length));
  if (!parent.found) return r;
  const v = parent.value;
  if (typeof v === 'string' || Array.isArray(v)) return { found: true, value: v.length };
  if (v !== null && typeof v === 'object' && v.constructor === Object)
    return { found: true, value: Object.keys(v).length };
  return r;
}

function showValue(v: unknown): string {
  return stringifyExact(v) ?? 'undefined';
}

/**
 * Parse one `--expect-json` spec. A bad spec is a UsageError naming the flag (exit 2, nothing sent).
 * Call `prepareExpectJson` first for specs whose path is not singular (it loads the JSONPath engine).
 */
export function parseExpectJson(spec: string, flag = '--expect-json'): JsonExpectation {
  const parts = splitSpec(spec);
  if (!parts || parts.path === '')
    throw new UsageError(`invalid ${flag} '${spec}'`, {
      hint: "write 'path=value' or a comparison, e.g. '$.items[0].id=42' or '$.items.length>=2'",
    });
  const path = rootPath(parts.path);
  try {
    checkPath(path);
  } catch (err) {
    throw new UsageError(`invalid ${flag} '${spec}': ${(err as Error).message}`, {
      hint: 'write paths like $.items[0].id',
    });
  }
  const { op, value: wantText } = parts;
  const shown = parts.path;
  if (op in MATCHER_OF) {
    const text = wantText.trim();
    let want: unknown;
    try {
      want = parseExact(text);
    } catch {
      try {
        want = parseDuration(text);
      } catch {
        // neither
      }
    }
    if (typeof want !== 'number' && !(want instanceof ExactNumber))
      throw new UsageError(`invalid ${flag} '${spec}': ${op} needs a number, got '${text}'`, {
        hint: "compare with a number or a duration, e.g. '$.quantity>0' or '$.items.length>=2'",
      });
    const matcher = { [MATCHER_OF[op] as string]: want };
    return {
      spec,
      path,
      judge(doc) {
        const got = valueAt(doc, path);
        if (!got.found) return `expected ${shown} ${op} ${text}, but ${shown} is absent`;
        return judge(got.value, matcher).length === 0
          ? undefined
          : `expected ${shown} ${op} ${text}, got ${showValue(got.value)}`;
      },
    };
  }
  const regex = REGEX_TEXT.test(wantText) ? wantText : undefined;
  if (regex) textMatcher(regex, flag); // a bad regex is a usage error now
  let want: unknown = wantText;
  try {
    want = parseExact(wantText);
  } catch {
    // not a JSON literal: compared as a string
  }
  const negate = op === '!=';
  const shownOp = negate ? '!=' : '=';
  const holds = (value: unknown): boolean => {
    if (regex) return judge(typeof value === 'string' ? value : showValue(value), regex).length === 0;
    // A string (or true/false/null) also matches its text: `$.id=42` holds for "42". Numbers never
    // match by text: they compare as exact decimals.
    const textual = typeof value === 'string' || typeof value === 'boolean' || value === null;
    return judge(value, { eq: want }).length === 0 || (textual && String(value) === wantText);
  };
  return {
    spec,
    path,
    judge(doc) {
      const got = valueAt(doc, path);
      if (!got.found)
        return negate ? undefined : `expected ${shown} ${shownOp} ${wantText}, but ${shown} is absent`;
      if (holds(got.value) !== negate) return undefined;
      if (regex && !negate) return `expected ${shown} matching ${wantText}, got ${showValue(got.value)}`;
      return `expected ${shown} ${shownOp} ${wantText}, got ${showValue(got.value)}`;
    },
  };
}

/** Load what the specs need before they are parsed: the JSONPath engine for non-singular paths. */
export async function prepareExpectJson(specs: readonly string[]): Promise<void> {
  for (const spec of specs) {
    const parts = splitSpec(spec);
    if (parts && parts.path !== '' && !singularSteps(rootPath(parts.path))) {
      await loadPathEngine();
      return;
    }
  }
}

function preview(text: string): string {
  const one = text.replace(/\s+/g, ' ').trim();
  return JSON.stringify(one.length > 80 ? `${one.slice(0, 77)}...` : one);
}

/** A header's value as text: a repeated header joined with ', ' (as HTTP folds them). */
function headerText(v: unknown): string {
  if (Array.isArray(v)) return v.map(headerText).join(', ');
  if (Buffer.isBuffer(v)) return v.toString('base64');
  return typeof v === 'string' ? v : showValue(v);
}

/**
 * --expect-header, --expect-body and --expect-json as ResultChecks over a reply seen through `view`.
 * Specs are parsed here, up front: an invalid one is a usage error (exit 2) before anything is sent.
 * Call (and await) `prepareExpectJson(flags.expectJson)` first.
 */
export function replyChecks<R>(
  flags: ExpectFlags,
  view: (reply: R) => ReplyView,
  wording: ExpectWording,
): ResultCheck<R>[] {
  const checks: ResultCheck<R>[] = [];
  const redact = wording.redact ?? ((_n: string, v: string) => v);
  for (const spec of flags.expectHeader ?? []) {
    const [name, value] = parseHeader(spec, '--expect-header');
    const matcher = textMatcher(value, '--expect-header');
    const key = name.toLowerCase();
    checks.push((_r, reply) => {
      if (reply === undefined) return undefined;
      const headers = view(reply).headers() ?? {};
      const found = Object.keys(headers).find((k) => k.toLowerCase() === key);
      const v = found === undefined ? undefined : headers[found];
      if (v === undefined) return `expected header ${name} matching ${matcher.show}, but it is absent`;
      const text = headerText(v);
      return matcher.test(text)
        ? undefined
        : `expected header ${name} matching ${matcher.show}, got ${JSON.stringify(redact(key, text))}`;
    });
  }
  for (const spec of flags.expectBody ?? []) {
    const matcher = textMatcher(spec, '--expect-body');
    checks.push((_r, reply) => {
      const text = reply === undefined ? '' : view(reply).text();
      return matcher.test(text)
        ? undefined
        : `expected ${wording.payload} to contain ${matcher.show}, got ${preview(text)}`;
    });
  }
  const json = (flags.expectJson ?? []).map((spec) => parseExpectJson(spec));
  if (json.length > 0) {
    checks.push((_r, reply) => {
      if (reply === undefined) return undefined;
      const v = view(reply);
      let doc: unknown;
      try {
        doc = v.json();
      } catch {
        return `expected JSON ${wording.payload} for ${json[0]?.path}, got ${preview(v.text())}`;
      }
      for (const e of json) {
        const failure = e.judge(doc);
        if (failure !== undefined) return failure;
      }
      return undefined;
    });
  }
  return checks;
}

/** A ReplyView over a payload of bytes (a NATS, AMQP or MQTT message) and its headers. */
export function payloadView(
  data: Uint8Array | undefined,
  headers: () => Readonly<Record<string, unknown>> | undefined,
): ReplyView {
  let text: string | undefined;
  const asText = () => {
    text ??=
      data === undefined ? '' : Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8');
    return text;
  };
  return { text: asText, json: () => parseExact(asText()), headers };
}
