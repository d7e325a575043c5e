import { parseHeader } from '../core/input.js';
import { UsageError } from '../errors/comms-error.js';

/**
 * The request headers of an HTTP-based handshake (`ws`, `sse`), read as curl reads them: `-H` values
 * (a repeated name is combined into one comma-separated field, RFC 9110 §5.3), basic auth from
 * `--user` or from credentials in the URL (which are then removed from it, so they never reach a
 * message), and a `User-Agent` unless one was given.
 */
export function requestHeaders(
  specs: readonly string[],
  user: string | undefined,
  url: URL,
): Record<string, string> {
  const headers: Record<string, string> = {};
  const has = (name: string) => Object.keys(headers).some((k) => k.toLowerCase() === name);
  for (const h of specs) {
    const [name, value] = parseHeader(h);
    const existing = Object.keys(headers).find((k) => k.toLowerCase() === name.toLowerCase());
    if (existing !== undefined) headers[existing] = `${headers[existing]}, ${value}`;
    else headers[name] = value;
  }
  const hasAuth = has('authorization');
  if (user !== undefined) {
    if (!user.includes(':')) throw new UsageError("invalid --user: expected 'user:password'");
    if (!hasAuth) headers.Authorization = `Basic ${Buffer.from(user).toString('base64')}`;
  } else if (url.username && !hasAuth) {
    const cred = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
    headers.Authorization = `Basic ${Buffer.from(cred).toString('base64')}`;
  }
  url.username = '';
  url.password = '';
  if (!has('user-agent')) headers['User-Agent'] = 'comms-cli';
  return headers;
}
