import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
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
