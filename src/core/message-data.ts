/**
 * How a received message's payload appears in --json (`data` + `encoding`): JSON when it parses without
 * changing the payload, else text when it is UTF-8, else base64. Shared by every stream transport
 * (nats, ws, sse, amqp, mqtt): one rule, one implementation.
 */
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * "Without changing": a scalar must round-trip exactly (`42`, not ` 42 `, `42\n` or `1.50`); in an
 * object or array no number may lose precision, and whitespace around it is allowed.
 */
export function decodeData(data: Uint8Array): { data: unknown; encoding: 'json' | 'text' | 'base64' } {
  let text: string;
  try {
    text = utf8.decode(data);
  } catch {
    return {
      data: Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64'),
      encoding: 'base64',
    };
  }
  return decodeText(text);
}

/** The same rule for a payload that is already text (SSE data, ws text frames). */
export function decodeText(text: string): { data: unknown; encoding: 'json' | 'text' } {
  const trimmed = text.trim();
  const container = /^[[{]/.test(trimmed);
  if (trimmed !== '' && /^[[{"\d\-tfn]/.test(trimmed) && (container || trimmed === text)) {
    try {
      const parsed: unknown = JSON.parse(trimmed);
      if (container ? numbersLossless(trimmed) : JSON.stringify(parsed) === text)
        return { data: parsed, encoding: 'json' };
    } catch {
      // not JSON: text
    }
  }
  return { data: text, encoding: 'text' };
}

const NUMBER_OR_STRING = /"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/g;

function numbersLossless(json: string): boolean {
  for (const [token] of json.matchAll(NUMBER_OR_STRING)) {
    if (token.startsWith('"')) continue;
    const value = Number(token);
    if (!Number.isFinite(value)) return false;
    if (String(value) === token) continue;
    const digits = (token.replace(/^-/, '').split(/[eE]/)[0] ?? '').replace('.', '').replace(/^0+/, '');
    if (digits.replace(/0+$/, '').length > 15) return false;
  }
  return true;
}
