import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHttpServer } from '../servers/http/server.js';
import type { DemoPart } from './context.js';

/**
 * The events tour: real `comms-cli events` command lines, run in this process, on an embedded store
 * in a temp dir: append, a version conflict, then dispatch to the embedded HTTP server's /flaky
 * endpoint, which fails the first delivery once (503) so the shared retry middleware is seen at work.
 */
export const eventsDemo: DemoPart = async (ctx) => {
  const server = await startHttpServer();
  const dir = mkdtempSync(join(tmpdir(), 'comms-demo-events-'));
  const store = join(dir, 'store');
  const where = ['--store', store];
  try {
    ctx.out.info(ctx.out.c.dim(`embedded store: ${store}\nembedded server: ${server.url}`));
    await ctx.step('Append to a new aggregate (--expected-version none)', 0, () =>
      ctx.command([
        'events',
        'append',
        'order-42',
        'OrderPlaced',
        '-d',
        '{"sku":"A1","qty":2}',
        '--expected-version',
        'none',
        ...where,
      ]),
    );
    await ctx.step('Append the next event at version 1', 0, () =>
      ctx.command([
        'events',
        'append',
        'order-42',
        'OrderPaid',
        '-d',
        '{"total":12.5}',
        '--expected-version',
        '1',
        ...where,
      ]),
    );
    await ctx.step('A writer with a stale view: version conflict', 1, () =>
      ctx.command(['events', 'append', 'order-42', 'OrderCancelled', '--expected-version', '1', ...where]),
    );
    await ctx.step("The aggregate's history", 0, () => ctx.command(['events', 'read', 'order-42', ...where]));
    await ctx.step('Dispatch to a handler that fails once (503): one retry, both handled', 0, () =>
      ctx.command([
        'events',
        'dispatch',
        '--to',
        `${server.url}/flaky/1?key=events-demo&retry_after=0`,
        '--checkpoint',
        'demo',
        '--retries',
        '2',
        '--backoff',
        '100ms',
        ...where,
      ]),
    );
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
};
