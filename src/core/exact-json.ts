/**
 * JSON whose numbers stay exactly as the peer wrote them.
 *
 * `JSON.parse` turns 9007199254740993 into 9007199254740992: a tester that reports or compares that
 * value is wrong without saying so. Node 20 has neither `JSON.rawJSON` nor the reviver's source text,
 * so numbers that a double cannot hold exactly are kept as `ExactNumber` (their source text) and
 * written back verbatim by `stringifyExact`; numbers a double holds exactly stay plain numbers, so
 * ordinary bodies come out as before. No dependency: the NATS/ws/sse payload rule
 * (core/message-data.ts) decides "JSON or text" with the same token scan; this keeps the structure
 * as well, which `--json` bodies and `--expect-json` need.
 */

/** Per process, so a peer cannot forge a marker inside its own strings. */
const NONCE = `${Math.random().toString(36).slice(2, 10)}${Date.now().toString(36)}`;
const PARSE_MARK = `\uE000${NONCE}:`;
const WRITE_MARK = `\uE001${NONCE}:`;
const WRITE_RE = new RegExp(`"\\uE001${NONCE}:([-+.0-9eE]+)"`, 'g');

/** A JSON number kept as its source text (it does not survive a round-trip through a double). */
export class ExactNumber {
  constructor(readonly text: string) {}
  toJSON(): string {
    return `${WRITE_MARK}${this.text}`;
  }
  toString(): string {
    return this.text;
  }
  valueOf(): number {
    return Number(this.text);
  }
}

const NUMBER_OR_STRING = /"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/g;

/** Does `Number(token)` hold the token's value exactly (up to how it is written)? */
export function numberIsExact(token: string): boolean {
  const value = Number(token);
  if (!Number.isFinite(value)) return false;
  return canonicalDecimal(String(value)) === canonicalDecimal(token);
}

/**
 * Parse JSON, keeping numbers a double cannot hold as ExactNumber. Throws SyntaxError as JSON.parse
 * does; a body nested too deeply for the walk throws RangeError (a limit of comms-cli, not the peer).
 */
export function parseExact(text: string): unknown {
  const lossy: string[] = [];
  const marked = text.replace(NUMBER_OR_STRING, (token) => {
    if (token.startsWith('"') || numberIsExact(token)) return token;
    lossy.push(token);
    return JSON.stringify(`${PARSE_MARK}${lossy.length - 1}`);
  });
  if (lossy.length === 0) return JSON.parse(text);
  // The reviver runs bottom-up without recursion of ours; it swaps each marker for its number.
  return JSON.parse(marked, (_key, value: unknown) => {
    if (typeof value === 'string' && value.startsWith(PARSE_MARK)) {
      const token = lossy[Number(value.slice(PARSE_MARK.length))];
      if (token !== undefined) return new ExactNumber(token);
    }
    return value;
  });
}

/** JSON.stringify that writes ExactNumber values as their exact source text. */
export function stringifyExact(value: unknown, indent?: number): string {
  const text = JSON.stringify(value, null, indent);
  if (text === undefined || !text.includes(WRITE_MARK)) return text;
  return text.replace(WRITE_RE, (_m, token: string) => token);
}

/**
 * A decimal written canonically: sign, significant digits, exponent. `1.50`, `15e-1` and `1.5` are
 * the same; 9007199254740993 and 9007199254740992 are not.
 */
export function canonicalDecimal(token: string): string {
  const m = /^(-?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(token.trim());
  if (!m) return token;
  const [, sign = '', int = '', frac = '', exp = '0'] = m;
  let digits = int + frac;
  let exponent = Number(exp) - frac.length;
  const lead = digits.search(/[^0]/);
  if (lead < 0) return '0';
  digits = digits.slice(lead);
  const trail = digits.length - digits.replace(/0+$/, '').length;
  digits = digits.slice(0, digits.length - trail);
  exponent += trail;
  return `${sign}${digits}e${exponent}`;
}

function isNumberLike(v: unknown): v is number | ExactNumber {
  return typeof v === 'number' || v instanceof ExactNumber;
}

/** Structural equality where numbers compare by exact decimal value (object key order ignored). */
export function exactEqual(a: unknown, b: unknown): boolean {
  if (isNumberLike(a) && isNumberLike(b)) return canonicalDecimal(String(a)) === canonicalDecimal(String(b));
  if (Array.isArray(a) && Array.isArray(b))
    return a.length === b.length && a.every((v, i) => exactEqual(v, b[i]));
  if (
    a &&
    b &&
    typeof a === 'object' &&
    typeof b === 'object' &&
    !Array.isArray(a) &&
    !Array.isArray(b) &&
    !(a instanceof ExactNumber) &&
    !(b instanceof ExactNumber)
  ) {
    const ka = Object.keys(a);
    const kb = Object.keys(b);
    if (ka.length !== kb.length) return false;
    return ka.every(
      (k) =>
        Object.hasOwn(b, k) &&
        exactEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]),
    );
  }
  return a === b;
}
