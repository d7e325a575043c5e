/**
 * Secrets never reach -v lines or --json objects unless --show-secrets. What counts as a secret is a
 * written list (docs/output-and-exit-codes.md#redaction), not a guess from any name that contains
 * "credential": `access-control-allow-credentials: true` is CORS metadata and is shown.
 *
 * A header, metadata key or option-ish JSON key is redacted when
 *   1. its name is one of SECRET_NAMES, or
 *   2. one of its words (split on `-`, `_`, `.`) is one of SECRET_WORDS, or a word ends in one of
 *      SECRET_SUFFIXES (`x-api-key`, `db_password`, `x-amz-security-token`, `githubtoken`),
 * unless the name is in PUBLIC_NAMES (CORS and cache headers that only name other headers); and any
 * header's value is redacted when it has the shape of a credential (VALUE_SHAPES: an Authorization
 * scheme with a credential, a JWT, an AWS access key id, a PEM private key).
 * URLs anywhere have their password and secret-named query parameters redacted.
 */
export const REDACTED = '[REDACTED]';

/** Header / key names that carry a secret. */
export const SECRET_NAMES: readonly string[] = [
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
  'x-api-key',
  'api-key',
  'apikey',
  'x-auth-token',
  'x-access-token',
  'x-refresh-token',
  'x-csrf-token',
  'x-xsrf-token',
  'x-amz-security-token',
  'x-goog-api-key',
  'private-token',
  'auth',
  'sig',
];

/** A word of a name that makes it secret-bearing. */
export const SECRET_WORDS: readonly string[] = [
  'password',
  'passwd',
  'pass',
  'secret',
  'token',
  'apikey',
  'credentials',
  'credential',
  'creds',
  'nkey',
  'seed',
  'signature',
  'session',
  'sessionid',
];

/** A word ending in one of these is secret-bearing too (`dbpassword`, `githubtoken`). */
const SECRET_SUFFIXES: readonly string[] = ['password', 'passwd', 'secret', 'token', 'apikey'];

/** Names that look secret by their words but only name other headers or flags. */
export const PUBLIC_NAMES: readonly string[] = [
  'access-control-allow-credentials',
  'access-control-allow-headers',
  'access-control-expose-headers',
  'access-control-request-headers',
  'vary',
];

/** Value shapes that are credentials whatever the header is called. */
export const VALUE_SHAPES: readonly RegExp[] = [
  /^\s*(bearer|basic|digest|negotiate|ntlm|token|apikey|aws4-hmac-sha256)\s+\S{8,}/i,
  /\beyJ[\w-]{5,}\.eyJ[\w-]{5,}\.[\w-]*/, // a JWT
  /\b(AKIA|ASIA)[0-9A-Z]{16}\b/, // an AWS access key id
  /-----BEGIN [A-Z ]*PRIVATE KEY-----/,
];

const NAMES = new Set(SECRET_NAMES);
const WORDS = new Set(SECRET_WORDS);
const PUBLIC = new Set(PUBLIC_NAMES);

/** Is a header, metadata key or option-ish key secret-bearing by its name? */
export function isSecretHeader(name: string): boolean {
  const lower = name.toLowerCase();
  if (PUBLIC.has(lower)) return false;
  if (NAMES.has(lower)) return true;
  const words = lower.split(/[-_.\s]+/).filter(Boolean);
  return words.some((w) => WORDS.has(w) || SECRET_SUFFIXES.some((s) => w.length > s.length && w.endsWith(s)));
}

/** Does a value have the shape of a credential? */
export function isSecretValue(value: string): boolean {
  return VALUE_SHAPES.some((re) => re.test(value));
}

/** URL query parameters that carry a secret (`?token=`, `?key=`, `?sig=`...). */
function isSecretParam(key: string): boolean {
  const lower = key.toLowerCase();
  return lower === 'key' || lower === 'code' || isSecretHeader(lower);
}

/** Redact the userinfo password and secret-looking query parameters of a URL string. */
export function redactUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return text;
  }
  let changed = false;
  if (url.password) {
    url.password = REDACTED;
    changed = true;
  }
  for (const key of [...url.searchParams.keys()]) {
    if (isSecretParam(key)) {
      url.searchParams.set(key, REDACTED);
      changed = true;
    }
  }
  return changed ? url.toString().replaceAll(encodeURIComponent(REDACTED), REDACTED) : text;
}

export type HeaderValue = string | string[] | number | undefined;

function redactValue(name: string, v: string): string {
  return isSecretHeader(name) || isSecretValue(v) ? REDACTED : v;
}

export function redactHeaders<T extends Record<string, HeaderValue>>(headers: T): T {
  const out: Record<string, HeaderValue> = {};
  for (const [k, v] of Object.entries(headers)) {
    if (typeof v === 'string') out[k] = redactValue(k, v);
    else if (Array.isArray(v)) out[k] = v.map((one) => redactValue(k, one));
    else out[k] = v;
  }
  return out as T;
}

/**
 * Deep copy with secrets replaced: values under secret-named keys, credential-shaped values under
 * `headers`/`metadata`/`trailers`, and URLs anywhere. Used on every --json object and every -v
 * header dump. Bodies are left alone: they are the data the user asked for.
 */
export function redactDeep(value: unknown, key = '', depth = 0, inHeaders = false): unknown {
  if (depth > 8) return value;
  if (typeof value === 'string') {
    if (key && isSecretHeader(key)) return REDACTED;
    if (inHeaders && isSecretValue(value)) return REDACTED;
    return value.includes('://') ? redactUrl(value) : value;
  }
  if (Array.isArray(value)) {
    if (key && isSecretHeader(key)) return value.map(() => REDACTED);
    return value.map((v) => redactDeep(v, '', depth + 1, inHeaders));
  }
  if (value && typeof value === 'object' && !(value instanceof Uint8Array)) {
    // A value that serialises itself (an exact JSON number) is data, not a container of secrets.
    if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return value;
    const out: Record<string, unknown> = {};
    const headerish = key === 'headers' || key === 'metadata' || key === 'trailers';
    for (const [k, v] of Object.entries(value)) {
      if (k === 'body' || k === 'data') out[k] = v;
      else out[k] = redactDeep(v, k, depth + 1, headerish);
    }
    return out;
  }
  return value;
}
