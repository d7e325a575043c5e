import type { Command } from 'commander';
import type { CommandContext } from '../../command/context.js';
import { addOptions, readOptions } from '../../command/option.js';
import { UsageError } from '../../errors/comms-error.js';
import { HTTP_METHODS } from './call.js';
import { HTTP_OPTIONS } from './flags.js';

const METHODS: readonly string[] = HTTP_METHODS;

/**
 * `comms-cli http <method> <url>`: declarations only. The option table is parsed into typed values
 * here, at the edge; the undici transport and the runner are imported only when the command runs.
 */
export function register(program: Command, ctx: CommandContext): void {
  const cmd = program
    .command('http')
    .description('send an HTTP request (undici): retries, timeouts, breaker, timing, expectations, load')
    .argument('<method>', `one of ${METHODS.join('|')}`)
    .argument('<url>', 'http:// or https:// URL')
    .addHelpText(
      'after',
      `
Examples:
  $ comms-cli http get http://127.0.0.1:8080/health --expect-status 2xx
  $ comms-cli http post https://api.local/orders --json-data @order.json --idempotency-key auto --retries 3
  $ comms-cli http get http://127.0.0.1:8080/echo -n 10000 -c 50 --expect-p99 50ms`,
    )
    .action(async (method: string, url: string, _opts: unknown, self: Command) => {
      if (!METHODS.includes(method.toLowerCase())) {
        throw new UsageError(`unknown HTTP method '${method}'`, { hint: `use one of ${METHODS.join(', ')}` });
      }
      const { httpPlanFrom, runHttp } = await import('./commands/request.js');
      const plan = httpPlanFrom(method, url, readOptions(HTTP_OPTIONS, self.opts()));
      ctx.setExit(await runHttp(plan, ctx));
    });
  addOptions(cmd, HTTP_OPTIONS);
}
