import { parseUrl } from '../../command/url.js';
import { UsageError } from '../../errors/comms-error.js';

/** Parse and validate the URL: only ws(s) (`localhost:8080/x` is ws://), with a host, no fragment. */
export function parseWsUrl(text: string): URL {
  const url = parseUrl(text, {
    schemes: ['ws', 'wss'],
    defaultScheme: 'ws',
    example: 'ws://127.0.0.1:8080/echo',
  });
  if (url.hash) throw new UsageError(`invalid URL '${text}': a WebSocket URL has no #fragment`);
  return url;
}
