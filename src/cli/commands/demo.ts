import type { Command } from 'commander';
import type { CommandContext } from '../context.js';
import { addOptions, OUTPUT_OPTIONS, type OutputFlags, outputFrom } from '../options.js';
import type { SetExit } from '../program.js';

/** `comms-cli demo`: every transport against embedded servers, on random loopback ports. */
export function registerDemo(program: Command, ctx: CommandContext, setExit: SetExit): void {
  const cmd = program
    .command('demo')
    .description('a short tour: every transport against embedded servers, with retries, breaker and timeouts')
    .option('--only <parts>', 'run only these parts (comma-separated: http,grpc,nats,events)')
    .addHelpText(
      'after',
      `
Examples:
  $ comms-cli demo
  $ comms-cli demo --only http,grpc
  $ NO_COLOR=1 comms-cli demo -v`,
    )
    .action(async (flags: OutputFlags & { only?: string }) => {
      const { runDemo } = await import('../../demo/run.js');
      setExit(await runDemo(outputFrom(flags), ctx.signal, flags.only));
    });
  addOptions(cmd, OUTPUT_OPTIONS);
}
