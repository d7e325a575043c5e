import type { Command } from 'commander';
import type { CommandContext } from '../command/context.js';
import { addOptions, readOptions } from '../command/option.js';
import { CHECK_OPTIONS } from './flags.js';

/**
 * `comms-cli check [FILE|DIR]...`: declarations only. The runner (and the YAML parser) load when the
 * command runs. Steps are the other commands of `program`, read off the tree at run time, so every
 * slice registered before or after this one is a step kind.
 */
export function register(program: Command, ctx: CommandContext): void {
  const cmd = program
    .command('check')
    .description('run check files: multi-protocol flows with captures, awaits, compensation and reports')
    .argument('[paths...]', '*.check.yaml files or directories (default: .)')
    .addHelpText(
      'after',
      `
Examples:
  $ comms-cli check examples/                         # every *.check.yaml under examples/
  $ comms-cli check orders.check.yaml --var api=http://127.0.0.1:8080 --report junit:report.xml
  $ comms-cli check ci/ --tag smoke --jobs 4 --fail-fast
  $ comms-cli check ci/ --dry-run                     # validate only; sends nothing`,
    )
    .action(async (paths: string[], _opts: unknown, self: Command) => {
      const { runCheckCommand } = await import('./commands/run.js');
      ctx.setExit(await runCheckCommand(paths, readOptions(CHECK_OPTIONS, self.opts()), program, ctx));
    });
  addOptions(cmd, CHECK_OPTIONS);
  const schema = cmd.options.find((o) => o.long === '--print-schema');
  schema?.hideHelp();
}
