import { startWsServer } from '../servers/ws/server.js';
import type { DemoPart } from './context.js';

/**
 * The WebSocket tour: real `comms-cli ws` command lines, run in this process, against the embedded
 * `serve ws` server (echo, ticker, faults per connection) on a random loopback port.
 */
export const wsDemo: DemoPart = async (ctx) => {
  const server = await startWsServer();
  const url = server.url;
  try {
    ctx.out.info(ctx.out.c.dim(`embedded server: ${url}`));
    await ctx.step('Send a message, print the echo, close cleanly', 0, () =>
      ctx.command(['ws', `${url}/echo`, '-m', 'hello over a WebSocket']),
    );
    await ctx.step('Receive a stream: three ticks, each checked, then close', 0, () =>
      ctx.command(['ws', `${url}/ticker?every=50ms`, '--count', '3', '--expect-message', '$.tick=3']),
    );
    await ctx.step('A server that closes with 1011 (internal error), as --expect-close says', 0, () =>
      ctx.command(['ws', `${url}/echo?close-code=1011`, '--expect-close', '1011']),
    );
    await ctx.step('A refused upgrade (HTTP 401) is a failed call', 1, () =>
      ctx.command(['ws', `${url}/echo?refuse=401`, '-m', 'x']),
    );
    await ctx.step('Load: 300 echo round trips over 5 connections, handshakes reported apart', 0, () =>
      ctx.command(['ws', `${url}/echo`, '-m', 'n={{seq}}', '-n', '300', '-c', '5', '--max-error-rate', '0']),
    );
  } finally {
    await server.close();
  }
};
