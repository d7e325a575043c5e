import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runAppend } from '../events/commands/append.js';
import { runDispatch } from '../events/commands/dispatch.js';
import { runRead } from '../events/commands/read.js';
import { startHttpServer } from '../servers/http/server.js';
import type { DemoPart } from './context.js';

/**
 * The events tour, through the code paths of `comms-cli events`, on an embedded store in a temp dir:
 * append, a version conflict, then dispatch to the embedded HTTP server's /flaky endpoint, which
 * fails the first delivery once (503) so the shared retry middleware is seen at work.
 */
export const eventsDemo: DemoPart = async (ctx) => {
  const server = await startHttpServer();
  const dir = mkdtempSync(join(tmpdir(), 'comms-demo-events-'));
  const store = join(dir, 'store');
  const cmd = {
    signal: ctx.signal,
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
    setExit: () => {},
    run: async () => 2,
  };
  const base = {
    store,
    color: ctx.out.options.color !== false,
    verbose: ctx.out.options.verbose,
    quiet: ctx.out.options.quiet,
  };
  const say = (line: string) => ctx.out.info(`  ${ctx.out.c.dim(`$ comms-cli ${line}`)}`);
  try {
    ctx.out.info(ctx.out.c.dim(`embedded store: ${store}\nembedded server: ${server.url}`));
    await ctx.step('Append to a new aggregate (--expected-version none)', 0, async () => {
      say(
        `events append order-42 OrderPlaced -d '{"sku":"A1","qty":2}' --expected-version none --store ${store}`,
      );
      return runAppend(
        'order-42',
        'OrderPlaced',
        { ...base, data: '{"sku":"A1","qty":2}', expectedVersion: 'none' },
        cmd,
      );
    });
    await ctx.step('Append the next event at version 1', 0, async () => {
      say(`events append order-42 OrderPaid -d '{"total":12.5}' --expected-version 1 --store ${store}`);
      return runAppend(
        'order-42',
        'OrderPaid',
        { ...base, data: '{"total":12.5}', expectedVersion: '1' },
        cmd,
      );
    });
    await ctx.step('A writer with a stale view: version conflict', 1, async () => {
      say(`events append order-42 OrderCancelled --expected-version 1 --store ${store}`);
      return runAppend('order-42', 'OrderCancelled', { ...base, expectedVersion: '1' }, cmd);
    });
    await ctx.step("The aggregate's history", 0, async () => {
      say(`events read order-42 --store ${store}`);
      return runRead('order-42', base, cmd);
    });
    await ctx.step('Dispatch to a handler that fails once (503): one retry, both handled', 0, async () => {
      const to = `${server.url}/flaky/1?key=events-demo&retry_after=0`;
      say(`events dispatch --to '${to}' --checkpoint demo --retries 2 --backoff 100ms --store ${store}`);
      return runDispatch({ ...base, to, checkpoint: 'demo', retries: '2', backoff: '100ms' }, cmd);
    });
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
};
