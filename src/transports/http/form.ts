import { closeSync, openAsBlob, openSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, extname } from 'node:path';
import type { FormData as UndiciFormData } from 'undici';
import { fileErrorReason, readAll } from '../../core/input.js';
import { UsageError } from '../../errors/comms-error.js';

/*
 * curl's -F/--form, --form-string and --data-urlencode, and -G.
 *
 * A multipart body is undici's own FormData (undici recognises only its own class): undici encodes
 * it when the request is written, computing Content-Length from the parts' sizes and streaming each
 * file part from disk (fs.openAsBlob), so a large upload is never held in memory. undici re-encodes
 * it for every write, so a retry or a 307/308 redirect sends it again whole. Its module is loaded
 * from node_modules only when -F is given (the bundle leaves undici's fetch code out).
 */

/** One -F/--form-string part, as parsed from argv, before any file is opened. */
export interface FormPart {
  readonly name: string;
  /** `text`: a value; `file`: a file upload (@path); `content`: a text value read from a file (<path). */
  readonly kind: 'text' | 'file' | 'content';
  /** The text, or the path (`-` is stdin). */
  readonly value: string;
  readonly type?: string;
  readonly filename?: string;
}

/** How -v describes a multipart body. */
export interface FormSummary {
  parts: string[];
}

const requireCjs = createRequire(import.meta.url);

/** curl's guesses by extension (tool_formparse.c); anything else is application/octet-stream. */
const CONTENT_TYPES: Record<string, string> = {
  '.gif': 'image/gif',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.txt': 'text/plain',
  '.htm': 'text/html',
  '.html': 'text/html',
  '.pdf': 'application/pdf',
  '.xml': 'application/xml',
  '.json': 'application/json',
};

const FORM_HINT = "use -F 'name=value', -F 'name=@file' (upload) or -F 'name=<file' (a value from a file)";

/**
 * Parse one -F as curl does: `name=value`, `name=@path` (a file part), `name=<path` (a text part
 * read from a file), each optionally followed by `;type=MIME` and, for files, `;filename=NAME`.
 * A `;` that does not start one of those is part of the value; --form-string takes a value literally.
 */
export function parseFormSpec(spec: string, literal: boolean): FormPart {
  const flag = literal ? '--form-string' : '-F';
  const eq = spec.indexOf('=');
  if (eq <= 0) throw new UsageError(`invalid ${flag} '${spec}': expected name=value`, { hint: FORM_HINT });
  const name = spec.slice(0, eq);
  if (/[\r\n\0]/.test(name))
    throw new UsageError(`invalid ${flag} '${spec}': a part name cannot contain CR, LF or NUL`);
  let rest = spec.slice(eq + 1);
  if (literal) return { name, kind: 'text', value: rest };
  let type: string | undefined;
  let filename: string | undefined;
  // Peel `;type=...` and `;filename=...` off the end, as many as there are.
  for (;;) {
    const m = /;(type|filename)=("[^"]*"|[^;]*)$/.exec(rest);
    if (!m) break;
    const v = (m[2] ?? '').replace(/^"(.*)"$/, '$1');
    if (m[1] === 'type') type = v;
    else filename = v;
    rest = rest.slice(0, m.index);
  }
  if (
    type !== undefined &&
    !/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+\/[!#$%&'*+\-.^_`|~0-9A-Za-z]+(\s*;.*)?$/.test(type)
  )
    throw new UsageError(`invalid ${flag} '${spec}': ';type=${type}' is not a media type such as text/plain`);
  if (filename !== undefined && /[\r\n\0]/.test(filename))
    throw new UsageError(`invalid ${flag} '${spec}': a filename cannot contain CR, LF or NUL`);
  const kind = rest.startsWith('@') ? 'file' : rest.startsWith('<') ? 'content' : 'text';
  const value = kind === 'text' ? rest : rest.slice(1);
  if (kind !== 'text' && value === '')
    throw new UsageError(`invalid ${flag} '${spec}': '${rest}' needs a file name (or - for stdin)`, {
      hint: FORM_HINT,
    });
  if (kind !== 'file' && filename !== undefined)
    throw new UsageError(`invalid ${flag} '${spec}': ;filename= is for a file part (name=@file)`, {
      hint: "for a value that contains ';filename=', use --form-string 'name=value'",
    });
  return {
    name,
    kind,
    value,
    ...(type !== undefined ? { type } : {}),
    ...(filename !== undefined ? { filename } : {}),
  };
}

/** A file named by -F, checked now: a missing or unreadable file is exit 2 before anything is sent. */
function checkReadable(path: string, spec: FormPart): 'file' | 'other' {
  const fail = (why: string) => new UsageError(`cannot read -F file '${path}' (part '${spec.name}'): ${why}`);
  let regular: boolean;
  try {
    const st = statSync(path);
    if (st.isDirectory()) throw fail('is a directory');
    regular = st.isFile();
    closeSync(openSync(path, 'r'));
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw fail(fileErrorReason(err));
  }
  return regular ? 'file' : 'other';
}

/**
 * The parts as undici's FormData. Regular files become lazily read, disk-backed blobs (streamed when
 * the request is written); stdin (`@-`) and non-regular files (a FIFO, /dev/stdin) are read now.
 */
export async function buildForm(
  parts: readonly FormPart[],
  stdin: NodeJS.ReadableStream,
): Promise<{ form: UndiciFormData; summary: FormSummary }> {
  const { FormData } = requireCjs('undici/lib/web/fetch/formdata.js') as { FormData: typeof UndiciFormData };
  const form = new FormData();
  const summary: FormSummary = { parts: [] };
  let stdinUsed = false;
  const readStdin = async (part: FormPart) => {
    if (stdinUsed)
      throw new UsageError(
        `-F '${part.name}=${part.kind === 'file' ? '@' : '<'}-': stdin can be read only once`,
      );
    stdinUsed = true;
    return readAll(stdin);
  };
  for (const part of parts) {
    if (part.kind === 'text') {
      // A typed text part goes as a nameless File: no filename, its Content-Type (as curl sends it).
      if (part.type !== undefined) form.append(part.name, new File([part.value], '', { type: part.type }));
      else form.append(part.name, part.value);
      // Values are not shown (a form may carry a password); their size is.
      summary.parts.push(`${part.name} (text, ${Buffer.byteLength(part.value)} bytes)`);
      continue;
    }
    if (part.kind === 'content') {
      let text: Buffer;
      if (part.value === '-') text = await readStdin(part);
      else {
        checkReadable(part.value, part);
        text = readFileSync(part.value);
      }
      // The file's bytes as they are: a string value would have its line breaks rewritten as CRLF.
      // undici gives a part without a filename a Content-Type; text/plain unless ;type= says otherwise.
      form.append(part.name, new File([text], '', { type: part.type ?? 'text/plain' }));
      summary.parts.push(`${part.name} (text from ${part.value}, ${text.length} bytes)`);
      continue;
    }
    const type = part.type ?? CONTENT_TYPES[extname(part.value).toLowerCase()] ?? 'application/octet-stream';
    let blob: Blob;
    if (part.value === '-') {
      blob = new Blob([await readStdin(part)], { type });
    } else if (checkReadable(part.value, part) === 'file') {
      blob = await openAsBlob(part.value, { type });
    } else {
      blob = new Blob([readFileSync(part.value)], { type });
    }
    // curl names stdin "-" too; a file by its base name, or ;filename=.
    const filename = part.filename ?? (part.value === '-' ? '-' : basename(part.value));
    form.append(part.name, blob, filename);
    summary.parts.push(`${part.name} (file ${filename}, ${type}, ${blob.size} bytes)`);
  }
  return { form, summary };
}

/**
 * --data-urlencode's encoding as curl's tool writes it: every byte but ALPHA, DIGIT and -._~
 * percent-encoded with lower-case hex, and a space as `+` (application/x-www-form-urlencoded).
 */
function curlEscape(data: Buffer): string {
  let out = '';
  for (const byte of data) {
    const c = String.fromCharCode(byte);
    if (/[A-Za-z0-9\-._~]/.test(c)) out += c;
    else if (byte === 0x20) out += '+';
    else out += `%${byte.toString(16).padStart(2, '0')}`;
  }
  return out;
}

/**
 * One --data-urlencode as curl reads it: `content` and `=content` encode the content; `name=content`
 * sends name=<encoded content>; `@file` and `name@file` encode a file's content (`-` is stdin).
 * The name is sent as given.
 */
export async function urlencodeData(spec: string, stdin: NodeJS.ReadableStream): Promise<string> {
  let sep = spec.indexOf('=');
  if (sep < 0) sep = spec.indexOf('@');
  const name = sep > 0 ? spec.slice(0, sep) : '';
  const isFile = sep >= 0 && spec[sep] === '@';
  const content = sep >= 0 ? spec.slice(sep + 1) : spec;
  let data: Buffer;
  if (isFile) {
    if (content === '')
      throw new UsageError(`invalid --data-urlencode '${spec}': '@' needs a file name (or @- for stdin)`);
    if (content === '-') data = await readAll(stdin);
    else {
      try {
        data = readFileSync(content);
      } catch (err) {
        throw new UsageError(`cannot read --data-urlencode file '${content}': ${fileErrorReason(err)}`);
      }
    }
  } else data = Buffer.from(content, 'utf8');
  return name ? `${name}=${curlEscape(data)}` : curlEscape(data);
}
