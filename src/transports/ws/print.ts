import { decodeText } from '../../core/message-data.js';
import type { Output } from '../../output/output.js';

/** One received frame, as the session hands it to output and matchers. */
export interface ReceivedFrame {
  n: number;
  data: Buffer;
  binary: boolean;
  received: Date;
}

/** The text a matcher (--until, --expect-message) sees: the text, or base64 of a binary frame. */
export function frameText(f: Pick<ReceivedFrame, 'data' | 'binary'>): string {
  return f.binary ? f.data.toString('base64') : f.data.toString('utf8');
}

/**
 * The contract's message object: `{"type":"message", transport, n, url, headers, data, encoding, size,
 * received}`. A WebSocket frame has no headers of its own: `{}`, so every transport has the same fields.
 */
export function messageRecord(f: ReceivedFrame, url: string): Record<string, unknown> {
  const decoded = f.binary
    ? { data: f.data.toString('base64'), encoding: 'base64' as const }
    : decodeText(f.data.toString('utf8'));
  return {
    type: 'message',
    transport: 'ws',
    n: f.n,
    url,
    headers: {},
    data: decoded.data,
    encoding: decoded.encoding,
    ...(f.binary ? { binary: true } : {}),
    size: f.data.length,
    received: f.received.toISOString(),
  };
}

/**
 * Human output: text as it came (one message per line), JSON pretty-printed when stdout is a
 * terminal, binary frames as one base64 line (raw bytes would garble the stream).
 */
export function humanText(out: Output, f: ReceivedFrame): string {
  if (f.binary) return `${f.data.toString('base64')}\n`;
  const text = f.data.toString('utf8');
  if (out.stdoutIsTTY && /^\s*[[{]/.test(text)) {
    try {
      return `${JSON.stringify(JSON.parse(text), null, 2)}\n`;
    } catch {
      // not JSON: as is
    }
  }
  return text.endsWith('\n') ? text : `${text}\n`;
}
