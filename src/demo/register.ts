import type { Command } from 'commander';
import type { CommandContext } from '../command/context.js';
import { addOptions, readOptions } from '../command/option.js';
import { outputFrom } from '../command/shared-options.js';
import { DEMO_OPTIONS } from './flags.js';

/** `comms-cli demo`: every transport against embedded servers, on random loopback ports. */
export function register(program: Command, ctx: CommandContext): void {
  const cmd = program
    .command('demo')
    .description('a short tour: every transport against embedded servers, with retries, breaker and timeouts')
    .addHelpText(
      'after',
      `
Examples:
  $ comms-cli demo
  $ comms-cli demo --only http,grpc
  $ comms-cli demo -q            # only the verdict (exit 0 when every step behaved as shown)`,
    )
    .action(async (_opts: unknown, self: Command) => {
      const values = readOptions(DEMO_OPTIONS, self.opts());
      const { runDemo } = await import('./run.js');
      ctx.setExit(
        await runDemo(outputFrom({ ...values, json: false, showSecrets: false }), ctx, values.only),
      );
    });
  addOptions(cmd, DEMO_OPTIONS);
}
