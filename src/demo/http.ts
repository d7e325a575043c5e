import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHttpServer } from '../servers/http/server.js';
import { runHttp } from '../transports/http/run.js';
import type { DemoPart } from './context.js';

/**
 * The HTTP tour, through the exact code path of `comms-cli http` (runHttp), against the embedded
 * fault-injecting server on a random loopback port.
 */
export const httpDemo: DemoPart = async (ctx) => {
  const server = await startHttpServer();
  const dir = mkdtempSync(join(tmpdir(), 'comms-demo-'));
  const cmd = { signal: ctx.signal, stdin: process.stdin };
  const base = {
    color: ctx.out.options.color !== false,
    verbose: ctx.out.options.verbose,
    quiet: ctx.out.options.quiet,
  };
  const say = (line: string) =>
    ctx.out.info(`  ${ctx.out.c.dim(`$ comms-cli ${line.replace('URL', server.url)}`)}`);
  try {
    ctx.out.info(ctx.out.c.dim(`embedded server: ${server.url}`));
    await ctx.step('A plain call, with its timing', 0, async () => {
      say('http get URL/json --expect-status 200 -v');
      return runHttp('get', `${server.url}/json`, { ...base, expectStatus: '200', verbose: true }, cmd);
    });
    await ctx.step(
      'A flaky endpoint (503 + Retry-After twice) succeeds on the third attempt',
      0,
      async () => {
        say('http get URL/flaky/2?key=demo --retries 3 --backoff 100ms --backoff-max 300ms');
        return runHttp(
          'get',
          `${server.url}/flaky/2?key=demo`,
          { ...base, retries: '3', backoff: '100ms', backoffMax: '300ms' },
          cmd,
        );
      },
    );
    const state = join(dir, 'breaker.json');
    const breakerFlags = { ...base, breaker: '2', breakerCooldown: '30s', breakerState: state };
    await ctx.step(
      'A failing endpoint, call 1 of 3 (--breaker 2, state shared through a file)',
      1,
      async () => {
        say(`http get URL/status/500 --breaker 2 --breaker-state ${state}`);
        return runHttp('get', `${server.url}/status/500`, breakerFlags, cmd);
      },
    );
    await ctx.step('Call 2: the second consecutive failure opens the circuit', 1, async () =>
      runHttp('get', `${server.url}/status/500`, breakerFlags, cmd),
    );
    await ctx.step('Call 3: short-circuited, nothing is sent', 5, async () =>
      runHttp('get', `${server.url}/status/500`, breakerFlags, cmd),
    );
    await ctx.step('A slow endpoint against --timeout 300ms', 4, async () => {
      say('http get URL/delay/2s --timeout 300ms');
      return runHttp('get', `${server.url}/delay/2s`, { ...base, timeout: '300ms' }, cmd);
    });
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
};
