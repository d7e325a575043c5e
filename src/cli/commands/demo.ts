import type { Command } from 'commander';
import type { CommandContext } from '../../command/context.js';
import { addOptions, OUTPUT_OPTIONS, type OutputFlags, outputFrom } from '../options.js';

/** The demo is a tour for people: --json and --show-secrets have nothing to act on there. */
const { json: _json, showSecrets: _showSecrets, ...DEMO_OUTPUT_OPTIONS } = OUTPUT_OPTIONS;

/** `comms-cli demo`: every transport against embedded servers, on random loopback ports. */
export function registerDemo(program: Command, ctx: CommandContext, setExit: (code: number) => void): void {
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
  $ comms-cli demo -q            # only the verdict (exit 0 when every step behaved as shown)`,
    )
    .action(async (flags: OutputFlags & { only?: string }) => {
      const { runDemo } = await import('../../demo/run.js');
      setExit(await runDemo(outputFrom(flags), ctx, flags.only));
    });
  addOptions(cmd, DEMO_OUTPUT_OPTIONS);
}
