import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { StringDecoder } from 'node:string_decoder';
import { UsageError } from '../errors/comms-error.js';

/**
 * Reads a payload argument as curl does: a literal string, `@file`, or `@-` for stdin.
 * An unreadable file is a usage error (exit 2) naming the file, and nothing is sent.
 */
export async function readPayload(
  spec: string,
  flag: string,
  stdin: NodeJS.ReadableStream = process.stdin,
): Promise<Buffer> {
  if (!spec.startsWith('@')) return Buffer.from(spec, 'utf8');
  const path = spec.slice(1);
  if (path === '-') return readAll(stdin);
  if (path === '') throw new UsageError(`${flag} '@' needs a file name (or @- for stdin)`);
  try {
    return await readFile(path);
  } catch (err) {
    const why = fileErrorReason(err);
    throw new UsageError(`cannot read ${flag} file '${path}': ${why}`, { cause: err });
  }
}

export async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream)
    chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks);
}

/** Parse JSON from a flag, as a usage error with the parser's position when it is invalid. */
export function parseJsonArg(text: string, flag: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    const preview = text.length > 60 ? `${text.slice(0, 57)}...` : text;
    throw new UsageError(`invalid JSON in ${flag} '${preview}': ${(err as Error).message}`);
  }
}

/** Parse `Name: value` (curl's -H syntax). */
export function parseHeader(text: string, flag = '-H'): [string, string] {
  const i = text.indexOf(':');
  const name = i > 0 ? text.slice(0, i).trim() : '';
  if (!name || !/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(name)) {
    throw new UsageError(`malformed header ${flag} '${text}': expected 'Name: value'`);
  }
  return [name, text.slice(i + 1).trim()];
}

/** Why a file could not be read, in words (for the one-line usage error). */
export function fileErrorReason(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES') return 'permission denied';
  if (code === 'EISDIR') return 'is a directory';
  return (err as Error).message;
}

/** Read a file named by a flag; an unreadable file is a usage error (exit 2) naming the flag and the file. */
export function readFileArg(path: string, flag: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new UsageError(`cannot read ${flag} file '${path}': ${fileErrorReason(err)}`, { cause: err });
  }
}

/**
 * The lines of stdin as they arrive (not read whole first), for every `--lines` option
 * (`tail -f app.log | comms-cli publish logs.app --lines`, `... | comms-cli events append ... --lines`).
 * One reader, one set of rules, the stricter of the two the commands used to have:
 * - a line ends at `\n` only; a `\r` right before it is dropped (CRLF input), but a lone `\r` is data
 *   (NDJSON separates records by `\n`; readline would also split at a bare `\r`);
 * - a last line without `\n` still counts; input is UTF-8, decoded across chunk boundaries;
 * - every line is yielded, blank ones included: the caller decides what a blank line means
 *   (`nats publish` sends an empty message, `events append` skips it);
 * - reading starts when iteration starts, so nothing is read (or dropped) while a command connects;
 * - iteration ends at EOF, or as soon as `signal` aborts even while stdin is idle (Ctrl-C): stdin is
 *   then destroyed, since an idle pipe or TTY would keep the process alive. A consumer that stops
 *   early (break) stops the reading too.
 */
export async function* stdinLines(stdin: NodeJS.ReadableStream, signal?: AbortSignal): AsyncIterable<string> {
  if (signal?.aborted) return;
  const decoder = new StringDecoder('utf8');
  const chunks = (stdin as AsyncIterable<Buffer | string>)[Symbol.asyncIterator]();
  let aborted: () => void = () => undefined;
  const abort = new Promise<'aborted'>((resolve) => {
    aborted = () => resolve('aborted');
    signal?.addEventListener('abort', aborted, { once: true });
  });
  let rest = '';
  const cut = (line: string) => (line.endsWith('\r') ? line.slice(0, -1) : line);
  try {
    for (;;) {
      const pending = chunks.next();
      const next = signal ? await Promise.race([pending, abort]) : await pending;
      if (next === 'aborted') {
        // The read stays pending: destroy stdin (an idle pipe or TTY would keep the process alive);
        // iterator.return() would queue behind that pending read and never run.
        pending.catch(() => undefined);
        (stdin as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.();
        return;
      }
      if (next.done) break;
      rest += typeof next.value === 'string' ? next.value : decoder.write(next.value);
      let nl = rest.indexOf('\n');
      while (nl >= 0) {
        yield cut(rest.slice(0, nl));
        rest = rest.slice(nl + 1);
        nl = rest.indexOf('\n');
      }
    }
    rest += decoder.end();
    if (rest !== '') yield cut(rest);
  } finally {
    signal?.removeEventListener('abort', aborted);
    // Ended early by the consumer (no read pending here): stop reading stdin.
    void chunks.return?.().catch(() => undefined);
  }
}
