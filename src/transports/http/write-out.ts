import type { Result } from '../../core/result.js';
import { UsageError } from '../../errors/comms-error.js';
import type { HttpReply } from './call.js';

/**
 * `-w/--write-out FORMAT` with curl's variable names, so a user can put comms-cli's numbers beside
 * curl's line by line. Times are in seconds with six decimals and cumulative from the start of the
 * (last) attempt, exactly as curl defines them:
 *
 *   time_namelookup    = dns
 *   time_connect       = dns + connect
 *   time_appconnect    = dns + connect + tls        (0 without TLS, as curl)
 *   time_pretransfer   = time_appconnect, or time_connect without TLS
 *   time_starttransfer = firstByte
 *   time_total         = total
 *
 * On a reused connection the connect phases did not happen and read 0, as in curl.
 */
export const WRITE_OUT_VARIABLES = [
  'content_type',
  'errormsg',
  'exitcode',
  'http_code',
  'http_version',
  'json',
  'method',
  'num_redirects',
  'num_retries',
  'response_code',
  'scheme',
  'size_download',
  'speed_download',
  'time_appconnect',
  'time_connect',
  'time_namelookup',
  'time_pretransfer',
  'time_redirect',
  'time_starttransfer',
  'time_total',
  'url',
  'url_effective',
] as const;
type Variable = (typeof WRITE_OUT_VARIABLES)[number];

/** Output switches inside a format, as curl's `%{stdout}` / `%{stderr}`. */
type Piece = { text: string } | { variable: Variable } | { stream: 'stdout' | 'stderr' };

/** Parse a format once, before anything is sent: an unknown variable is a usage error (exit 2). */
export function parseWriteOut(format: string): Piece[] {
  const pieces: Piece[] = [];
  let text = '';
  const flush = () => {
    if (text) pieces.push({ text });
    text = '';
  };
  for (let i = 0; i < format.length; i++) {
    const ch = format[i];
    if (ch === '\\' && i + 1 < format.length) {
      const next = format[i + 1];
      const escaped =
        next === 'n' ? '\n' : next === 't' ? '\t' : next === 'r' ? '\r' : next === '\\' ? '\\' : undefined;
      if (escaped !== undefined) {
        text += escaped;
        i += 1;
        continue;
      }
    }
    if (ch === '%' && format[i + 1] === '%') {
      text += '%';
      i += 1;
      continue;
    }
    if (ch === '%' && format[i + 1] === '{') {
      const end = format.indexOf('}', i + 2);
      if (end < 0) throw new UsageError(`invalid -w/--write-out '${format}': unclosed %{`);
      const name = format.slice(i + 2, end);
      flush();
      if (name === 'stdout' || name === 'stderr') pieces.push({ stream: name });
      else if ((WRITE_OUT_VARIABLES as readonly string[]).includes(name))
        pieces.push({ variable: name as Variable });
      else
        throw new UsageError(`unknown -w/--write-out variable '%{${name}}'`, {
          hint: `known: ${WRITE_OUT_VARIABLES.join(', ')}`,
        });
      i = end;
      continue;
    }
    text += ch;
  }
  flush();
  return pieces;
}

function seconds(ms: number | undefined): string {
  return ((ms ?? 0) / 1000).toFixed(6);
}

/** The values of every variable for one result (the last attempt's timing, as curl reports). */
export function writeOutValues(
  result: Result,
  reply: HttpReply | undefined,
  method: string,
  url: URL,
): Record<Variable, string> {
  const t = result.timing ?? {};
  const dns = t.dns ?? 0;
  const connect = dns + (t.connect ?? 0);
  const app = t.tls !== undefined ? connect + t.tls : 0;
  const code = reply ? String(reply.status) : '000';
  const bytes = reply?.bytes ?? 0;
  const totalS = (t.total ?? 0) / 1000;
  const values: Omit<Record<Variable, string>, 'json'> = {
    content_type: String(reply?.headers['content-type'] ?? ''),
    errormsg: result.error?.message ?? '',
    exitcode: String(result.exit),
    http_code: code,
    http_version: reply ? reply.httpVersion.replace(/^HTTP\//, '') : '0',
    method,
    num_redirects: String(reply?.redirects ?? 0),
    num_retries: String(Math.max(0, result.attempts.length - 1)),
    response_code: code,
    scheme: url.protocol.replace(/:$/, '').toUpperCase(),
    size_download: String(bytes),
    speed_download: totalS > 0 ? String(Math.round(bytes / totalS)) : '0',
    time_appconnect: seconds(app),
    time_connect: seconds(t.connect !== undefined || t.dns !== undefined ? connect : 0),
    time_namelookup: seconds(dns),
    time_pretransfer: seconds(app || connect),
    time_redirect: seconds(0),
    time_starttransfer: seconds(t.firstByte),
    time_total: seconds(t.total),
    url: url.toString(),
    url_effective: reply?.url ?? url.toString(),
  };
  return { ...values, json: JSON.stringify(values) };
}

/** Render the format: what goes to stdout and what to stderr. */
export function renderWriteOut(
  pieces: readonly Piece[],
  values: Record<Variable, string>,
  startOn: 'stdout' | 'stderr',
): { stdout: string; stderr: string } {
  const out = { stdout: '', stderr: '' };
  let stream = startOn;
  for (const piece of pieces) {
    if ('stream' in piece) stream = piece.stream;
    else out[stream] += 'text' in piece ? piece.text : values[piece.variable];
  }
  return out;
}
