/**
 * Peer-controlled text (an HTTP reason phrase, a header value, a gRPC status message, a service or
 * event name) must not drive the terminal: an ESC sequence in a reason phrase could clear the screen
 * or set the window title. Every human-readable line goes through here (Output does it once for all
 * transports); stdout data (bodies, messages, NDJSON) is never touched, it stays byte-exact.
 *
 * Control characters (C0 except tab and newline, DEL, C1) are written as `\u001b`-style escapes, as
 * NATS subjects already are. Bidirectional overrides (U+202A-U+202E, U+2066-U+2069) are escaped too:
 * they reorder what a person reads.
 */
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;
/** Like CONTROL, but newlines and tabs are escaped as well (one value on one line). */
const CONTROL_INLINE = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;
/** A colour (SGR) sequence as chalk writes it: the only escape sequence comms-cli itself emits. */
const SGR = /\u001b\[[0-9;]*m/y;

function escapeChar(c: string): string {
  return `\\u${(c.codePointAt(0) ?? 0).toString(16).padStart(4, '0')}`;
}

/** Escape one peer-controlled value before it is composed into a line (newlines escaped too). */
export function escapeInline(text: string): string {
  return text.replace(CONTROL_INLINE, escapeChar);
}

/** Escape control characters in a whole line, keeping newlines and tabs. */
export function escapeControl(text: string): string {
  return text.replace(CONTROL, escapeChar);
}

/**
 * Escape a line that comms-cli may already have coloured: its own SGR colour sequences are kept,
 * every other control character (and any other ESC sequence) is escaped.
 */
export function escapeLine(text: string, keepColour: boolean): string {
  if (!keepColour) return escapeControl(text);
  let out = '';
  let from = 0;
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) !== 0x1b) continue;
    SGR.lastIndex = i;
    const m = SGR.exec(text);
    if (!m) continue;
    out += escapeControl(text.slice(from, i)) + m[0];
    i += m[0].length - 1;
    from = i + 1;
  }
  return out + escapeControl(text.slice(from));
}
