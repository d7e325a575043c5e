/**
 * Secrets never reach output unless --show-secrets: Authorization-like headers and metadata, cookies,
 * tokens and passwords in URLs and in option-ish keys of --json objects.
 */
export const REDACTED = '[REDACTED]';

const SECRET_HEADER =
  /^(authorization|proxy-authorization|cookie|set-cookie|x-api-key|api-key|x-auth-token|x-access-token|x-csrf-token|x-amz-security-token)$/i;
const SECRET_KEY =
  /(pass(word)?|secret|token|api[-_]?key|credential|creds|nkey|seed|signature|^sig$|^auth$)/i;

export function isSecretHeader(name: string): boolean {
  return SECRET_HEADER.test(name) || SECRET_KEY.test(name);
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
    if (SECRET_KEY.test(key) || key.toLowerCase() === 'key') {
      url.searchParams.set(key, REDACTED);
      changed = true;
    }
  }
  return changed ? url.toString().replaceAll(encodeURIComponent(REDACTED), REDACTED) : text;
}

export type HeaderValue = string | string[] | number | undefined;

export function redactHeaders<T extends Record<string, HeaderValue>>(headers: T): T {
  const out: Record<string, HeaderValue> = {};
  for (const [k, v] of Object.entries(headers)) out[k] = isSecretHeader(k) && v !== undefined ? REDACTED : v;
  return out as T;
}

/**
 * Deep copy with secrets replaced: values under secret-named keys, and URLs anywhere. Used on every
 * --json object and every -v header dump. Bodies are left alone: they are the data the user asked for.
 */
export function redactDeep(value: unknown, key = '', depth = 0): unknown {
  if (depth > 8) return value;
  if (typeof value === 'string') {
    if (key && isSecretHeader(key)) return REDACTED;
    return value.includes('://') ? redactUrl(value) : value;
  }
  if (Array.isArray(value)) {
    if (key && isSecretHeader(key)) return value.map(() => REDACTED);
    return value.map((v) => redactDeep(v, '', depth + 1));
  }
  if (value && typeof value === 'object' && !(value instanceof Uint8Array)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      if (k === 'body' || k === 'data') out[k] = v;
      else out[k] = redactDeep(v, k, depth + 1);
    }
    return out;
  }
  return value;
}
