import { Argument, type Command } from 'commander';
import type { CommandContext } from '../command/context.js';
import { UsageError } from '../errors/comms-error.js';

const SHELLS = ['bash', 'zsh', 'fish'] as const;

/**
 * `comms-cli completion <bash|zsh|fish>`: a completion script generated from the command tree itself
 * (read when the command runs, from the root commander hands the action), so every slice, alias,
 * flag and fixed choice is offered without a second list to keep in step.
 */
export function register(program: Command, ctx: CommandContext): void {
  const shell = new Argument('<shell>', 'bash, zsh or fish').choices(SHELLS).argParser((raw: string) => {
    if (!(SHELLS as readonly string[]).includes(raw))
      throw new UsageError(`unknown shell '${raw}' for completion: expected one of ${SHELLS.join(', ')}`);
    return raw;
  });
  program
    .command('completion')
    .description('print a shell completion script (commands, subcommands, flags and fixed values)')
    .addArgument(shell)
    .addHelpText(
      'after',
      `
Examples:
  $ source <(comms-cli completion bash)               # this shell; add the line to ~/.bashrc to keep it
  $ comms-cli completion zsh > "\${fpath[1]}/_comms-cli"
  $ comms-cli completion fish > ~/.config/fish/completions/comms-cli.fish`,
    )
    .action(async (name: string, _opts: unknown, self: Command) => {
      const { completionScript } = await import('./commands/script.js');
      let root = self;
      while (root.parent) root = root.parent;
      ctx.stdout.write(completionScript(name as (typeof SHELLS)[number], root));
    });
}
