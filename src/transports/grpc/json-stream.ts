import { UsageError } from '../../errors/comms-error.js';

/**
 * Split a byte stream of JSON values (NDJSON, or objects simply concatenated, pretty-printed or not)
 * into parsed values as soon as each one is complete, so a stream of requests is sent while it is
 * still being typed or piped. Invalid JSON is a usage error naming the message number.
 */
export async function* parseJsonStream(
  source: AsyncIterable<string | Buffer>,
  flag: string,
): AsyncGenerator<unknown> {
  let buf = '';
  let depth = 0;
  let inString = false;
  let escaped = false;
  let start = -1;
  let n = 0;
  const decoder = new TextDecoder();
  const emit = (text: string): unknown => {
    n += 1;
    try {
      return JSON.parse(text);
    } catch (err) {
      const preview = text.length > 60 ? `${text.slice(0, 57)}...` : text;
      throw new UsageError(`invalid JSON in ${flag}, message ${n} '${preview}': ${(err as Error).message}`);
    }
  };
  for await (const chunk of source) {
    buf += typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
    let consumed = 0;
    for (let i = 0; i < buf.length; i++) {
      const ch = buf[i];
      if (start < 0) {
        if (ch === ' ' || ch === '\n' || ch === '\r' || ch === '\t' || ch === ',') {
          consumed = i + 1;
          continue;
        }
        if (ch !== '{' && ch !== '[')
          throw new UsageError(`invalid JSON in ${flag}, message ${n + 1}: expected '{' but found '${ch}'`);
        start = i;
      }
      if (inString) {
        if (escaped) escaped = false;
        else if (ch === '\\') escaped = true;
        else if (ch === '"') inString = false;
        continue;
      }
      if (ch === '"') inString = true;
      else if (ch === '{' || ch === '[') depth += 1;
      else if (ch === '}' || ch === ']') {
        depth -= 1;
        if (depth === 0) {
          yield emit(buf.slice(start, i + 1));
          start = -1;
          consumed = i + 1;
        }
      }
    }
    // Keep only the unfinished value; restart its scan from the beginning next time.
    if (start >= 0) {
      buf = buf.slice(start);
      start = -1;
      depth = 0;
      inString = false;
      escaped = false;
    } else buf = buf.slice(consumed);
  }
  const rest = buf.trim();
  if (rest) emit(rest);
}
