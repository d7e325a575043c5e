import { startHttpServer } from '../servers/http/server.js';
import type { DemoPart } from './context.js';

/**
 * The Server-Sent Events tour: real `comms-cli sse` command lines, run in this process, against the
 * embedded `serve http` server's `/sse` stream on a random loopback port.
 */
export const sseDemo: DemoPart = async (ctx) => {
  const server = await startHttpServer();
  const url = server.url;
  try {
    ctx.out.info(ctx.out.c.dim(`embedded server: ${url}`));
    await ctx.step('Read an event stream to its end', 0, () =>
      ctx.command(['sse', `${url}/sse?count=3&every=50ms`]),
    );
    await ctx.step('Expect an event by a JSON path', 0, () =>
      ctx.command(['sse', `${url}/sse?count=5&every=20ms`, '--expect-event', '$.n=4']),
    );
    await ctx.step('A stream cut every 2 events: --reconnect resumes with Last-Event-ID', 0, () =>
      ctx.command(['sse', `${url}/sse?count=6&every=20ms&drop=2&retry=50`, '--reconnect']),
    );
    await ctx.step('A silent stream against an idle --timeout 300ms', 4, () =>
      ctx.command(['sse', `${url}/sse?count=2&every=5s`, '--timeout', '300ms']),
    );
  } finally {
    await server.close();
  }
};
