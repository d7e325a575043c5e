import { parseUrl } from '../../command/url.js';

/** Parse and validate the URL: only http(s) (`localhost:8080/sse` is http://), with a host. */
export function parseSseUrl(text: string): URL {
  return parseUrl(text, {
    schemes: ['http', 'https'],
    defaultScheme: 'http',
    example: 'http://127.0.0.1:8080/sse',
    schemeHint: 'an event stream is served over http:// or https://',
  });
}
