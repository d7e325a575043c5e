import { readFile } from 'node:fs/promises';
import { fileErrorReason, readAll } from '../../core/input.js';
import { expandTemplate, hasTemplate } from '../../core/template.js';
import { UsageError } from '../../errors/comms-error.js';

/** One message to send: text (templates expanded per send) or bytes. */
export interface Outgoing {
  readonly binary: boolean;
  /** Text frames: the text as written (may hold {{seq}} ...). */
  readonly text?: string;
  /** Binary frames (or text read from a file without templates). */
  readonly bytes?: Buffer;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** base64 text (with --binary), strictly: a typo must not silently send other bytes. */
export function decodeBase64(text: string, flag: string): Buffer {
  const compact = text.replace(/\s+/g, '');
  if (compact.length % 4 !== 0 || !BASE64.test(compact))
    throw new UsageError(
      `invalid ${flag} '${text.length > 40 ? `${text.slice(0, 37)}...` : text}': not base64`,
      {
        hint: 'with --binary, -m takes base64; send a file as is with -m @file',
      },
    );
  return Buffer.from(compact, 'base64');
}

/**
 * `-m` values, read and checked before anything is sent: text, `@file` (its bytes), `@-` (stdin).
 * With --binary, text is base64 and files are sent as they are; without, a file must be UTF-8.
 */
export async function readMessages(
  specs: readonly string[],
  binary: boolean,
  stdin: NodeJS.ReadableStream,
): Promise<Outgoing[]> {
  const out: Outgoing[] = [];
  for (const spec of specs) {
    if (!spec.startsWith('@')) {
      out.push(binary ? { binary, bytes: decodeBase64(spec, '-m/--message') } : { binary, text: spec });
      continue;
    }
    const path = spec.slice(1);
    if (path === '') throw new UsageError("-m/--message '@' needs a file name (or @- for stdin)");
    let bytes: Buffer;
    try {
      bytes = path === '-' ? await readAll(stdin) : await readFile(path);
    } catch (err) {
      throw new UsageError(`cannot read -m/--message file '${path}': ${fileErrorReason(err)}`, {
        cause: err,
      });
    }
    if (binary) {
      out.push({ binary, bytes });
      continue;
    }
    let text: string;
    try {
      text = utf8.decode(bytes);
    } catch {
      throw new UsageError(`-m/--message file '${path}' is not UTF-8 text`, {
        hint: 'send it as a binary frame with --binary',
      });
    }
    out.push(hasTemplate(text) ? { binary, text } : { binary, bytes });
  }
  return out;
}

/** The frame payload of the seq-th send. */
export function payloadOf(m: Outgoing, seq: number): Buffer | string {
  // Most texts hold no placeholder (they all start with '{{'): sent as written, no expansion per send.
  if (m.text !== undefined) return m.text.includes('{{') ? expandTemplate(m.text, seq) : m.text;
  return m.bytes ?? Buffer.alloc(0);
}
