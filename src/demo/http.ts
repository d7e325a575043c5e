import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHttpServer } from '../servers/http/server.js';
import type { DemoPart } from './context.js';

/**
 * The HTTP tour: real `comms-cli http` command lines, run in this process, against the embedded
 * fault-injecting server on a random loopback port.
 */
export const httpDemo: DemoPart = async (ctx) => {
  const server = await startHttpServer();
  const dir = mkdtempSync(join(tmpdir(), 'comms-demo-'));
  const url = server.url;
  try {
    ctx.out.info(ctx.out.c.dim(`embedded server: ${url}`));
    await ctx.step('A plain call, with its timing', 0, () =>
      ctx.command(['http', 'get', `${url}/json`, '--expect-status', '200', '-v']),
    );
    await ctx.step('A flaky endpoint (503 + Retry-After twice) succeeds on the third attempt', 0, () =>
      ctx.command([
        'http',
        'get',
        `${url}/flaky/2?key=demo`,
        '--retries',
        '3',
        '--backoff',
        '100ms',
        '--backoff-max',
        '300ms',
      ]),
    );
    const state = join(dir, 'breaker.json');
    const breaker = ['--breaker', '2', '--breaker-cooldown', '30s', '--breaker-state', state];
    await ctx.step('A failing endpoint, call 1 of 3 (--breaker 2, state shared through a file)', 1, () =>
      ctx.command(['http', 'get', `${url}/status/500`, ...breaker]),
    );
    await ctx.step('Call 2: the second consecutive failure opens the circuit', 1, () =>
      ctx.command(['http', 'get', `${url}/status/500`, ...breaker]),
    );
    await ctx.step('Call 3: short-circuited, nothing is sent', 5, () =>
      ctx.command(['http', 'get', `${url}/status/500`, ...breaker]),
    );
    await ctx.step('A slow endpoint against --timeout 300ms', 4, () =>
      ctx.command(['http', 'get', `${url}/delay/2s`, '--timeout', '300ms']),
    );
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
};
