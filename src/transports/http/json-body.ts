import { parseExact, stringifyExact } from '../../core/exact-json.js';

const NOT_JSON = Symbol('not JSON');

/**
 * The body as a --json result shows it: parsed JSON when the Content-Type says JSON and it parses
 * (numbers kept exactly: 9007199254740993 stays ...993, see core/exact-json.ts), text when it is
 * UTF-8, else base64 with `bodyEncoding: "base64"`.
 *
 * Throws RangeError (or ERR_STRING_TOO_LONG) when the body is too deep or too large to re-encode:
 * the caller reports that as comms-cli's own limit (exit 6), not the peer's fault.
 */
export function exactJsonBody(
  body: Buffer,
  contentType: string | undefined,
): { body: unknown; bodyEncoding?: 'base64' } {
  const text = body.toString('utf8');
  if (contentType && /[/+]json\b/i.test(contentType)) {
    let value: unknown = NOT_JSON;
    try {
      value = parseExact(text);
    } catch (err) {
      if (!(err instanceof SyntaxError)) throw err;
    }
    if (value !== NOT_JSON) {
      // The result line is written later: find out now whether it can be (5000 levels cannot).
      stringifyExact(value);
      return { body: value };
    }
  }
  if (Buffer.from(text, 'utf8').equals(body)) return { body: text };
  return { body: body.toString('base64'), bodyEncoding: 'base64' };
}
