import { UsageError } from '../errors/comms-error.js';

/** How one command reads a URL argument. */
export interface UrlRules {
  /** Accepted schemes, without the colon: `['http', 'https']`. */
  readonly schemes: readonly string[];
  /** The scheme a URL written without one gets (`localhost:8080/x` → `http://localhost:8080/x`). */
  readonly defaultScheme: string;
  /** Names the value in messages when it came from an option (`--server`); a positional says `URL`. */
  readonly flag?: string;
  /** A full URL shown in the hint of an unparsable one: `http://127.0.0.1:8080/path`. */
  readonly example: string;
  /** The hint for a URL with another scheme (default: `use http:// or https://`). */
  readonly schemeHint?: string;
}

/** `scheme://` at the start: the URL says its scheme. Anything else gets the default one. */
const HAS_SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i;

/**
 * The text a scheme-less URL stands for, as curl and HTTPie read it: `localhost:8080/x` and
 * `127.0.0.1/x` are `<default>://...`; HTTPie's `:8080/x` (and `:/x`) is `<default>://localhost:8080/x`.
 */
export function withDefaultScheme(text: string, defaultScheme: string): string {
  if (HAS_SCHEME.test(text)) return text;
  if (text.startsWith(':')) {
    // `:8080/x` → localhost:8080/x; `:/x` → localhost/x
    const rest = text.slice(1);
    return `${defaultScheme}://localhost${rest.startsWith('/') || rest === '' ? rest : `:${rest}`}`;
  }
  return `${defaultScheme}://${text}`;
}

/**
 * Parse and validate a URL argument once, for every command that takes one (http, sse, ws): a
 * scheme-less URL gets the default scheme, the scheme must be one of `schemes`, and a host is required.
 * Errors are usage errors (exit 2) naming the text as given.
 */
export function parseUrl(text: string, rules: UrlRules): URL {
  const what = rules.flag ? `${rules.flag}` : 'URL';
  let url: URL;
  try {
    url = new URL(withDefaultScheme(text.trim(), rules.defaultScheme));
  } catch {
    throw new UsageError(`invalid ${what} '${text}'`, {
      hint: `write a full URL such as ${rules.example}`,
    });
  }
  const scheme = url.protocol.replace(/:$/, '');
  if (!rules.schemes.includes(scheme))
    throw new UsageError(`unsupported URL scheme '${url.protocol}' in '${text}'`, {
      hint: rules.schemeHint ?? `use ${rules.schemes.map((s) => `${s}://`).join(' or ')}`,
    });
  if (!url.hostname) throw new UsageError(`invalid ${what} '${text}': no host`);
  return url;
}
