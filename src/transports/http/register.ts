import type { Command } from 'commander';
import { stepArgument, stepLine } from '../../command/argument.js';
import type { CommandContext } from '../../command/context.js';
import { addOptions, readOptions } from '../../command/option.js';
import { HTTP_OPTIONS } from './flags.js';
import { checkHttpLine, parseHttpUrl } from './url.js';

/**
 * `comms-cli http <method> <url>`: declarations only. The option table is parsed into typed values
 * here, at the edge; the undici transport and the runner are imported only when the command runs.
 */
export function register(program: Command, ctx: CommandContext): void {
  const cmd = program
    .command('http')
    .description('send an HTTP request (undici): retries, timeouts, breaker, timing, expectations, load')
    .argument(
      '<method>',
      'get, post, put, patch, delete, head, options or any method token (PURGE); or the URL alone, with -X or GET (POST with a body)',
    )
    .argument('[url]', 'http:// or https:// URL; localhost:8080/x and :8080/x mean http://')
    .addHelpText(
      'after',
      `
Examples:
  $ comms-cli http get http://127.0.0.1:8080/health --expect-status 2xx
  $ comms-cli http post https://api.local/orders --json-data @order.json --idempotency-key auto --retries 3
  $ comms-cli http get http://127.0.0.1:8080/echo -n 10000 -c 50 --expect-p99 50ms
  $ comms-cli http -X PURGE localhost:8080/cache/item
  $ comms-cli http :8080/upload -F name=report -F file=@report.pdf`,
    )
    .action(async (method: string, url: string | undefined, _opts: unknown, self: Command) => {
      const { httpPlanFrom, runHttp } = await import('./commands/request.js');
      const plan = httpPlanFrom(method, url, readOptions(HTTP_OPTIONS, self.opts()));
      ctx.setExit(await runHttp(plan, ctx));
    });
  addOptions(cmd, HTTP_OPTIONS);
  // A step names its positionals: {method, url}; the URL-alone form is the command line's only.
  stepArgument(cmd, 'url', { required: true, parse: parseHttpUrl });
  stepLine(cmd, checkHttpLine);
}
