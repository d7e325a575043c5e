import { parseUrl } from '../../command/url.js';

/** Parse and validate the URL: only http(s) (`localhost:8080/x` and `:8080/x` are http://), with a host. */
export function parseHttpUrl(text: string): URL {
  return parseUrl(text, {
    schemes: ['http', 'https'],
    defaultScheme: 'http',
    example: 'http://127.0.0.1:8080/path',
  });
}
