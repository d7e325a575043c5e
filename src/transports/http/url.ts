import { parseUrl } from '../../command/url.js';
import { UsageError } from '../../errors/comms-error.js';
import { HTTP_METHODS } from './call.js';

const KNOWN_METHODS: ReadonlySet<string> = new Set(HTTP_METHODS);

/** Parse and validate the URL: only http(s) (`localhost:8080/x` and `:8080/x` are http://), with a host. */
export function parseHttpUrl(text: string): URL {
  return parseUrl(text, {
    schemes: ['http', 'https'],
    defaultScheme: 'http',
    example: 'http://127.0.0.1:8080/path',
  });
}

/** A lone first argument read as a method, not a host (`get`, `PURGE`): `http get` is a missing URL. */
export function isMethodWord(word: string): boolean {
  return /^[A-Za-z]+$/.test(word) && (KNOWN_METHODS.has(word.toLowerCase()) || word === word.toUpperCase());
}

/**
 * The positionals of an `http` command line, checked as the command reads them, without running it
 * (a check file's `run:` line): `METHOD URL`, or the URL alone; a lone method word is a missing URL.
 */
export function checkHttpLine(positionals: readonly string[]): void {
  const [first, second] = positionals;
  if (first === undefined) return;
  if (second !== undefined) {
    parseHttpUrl(second);
    return;
  }
  if (isMethodWord(first))
    throw new UsageError("missing required argument 'url'", {
      hint: `comms-cli http ${first} http://127.0.0.1:8080/path`,
    });
  parseHttpUrl(first);
}
