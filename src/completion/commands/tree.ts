import type { Command } from 'commander';

/** One flag as completion sees it. */
export interface FlagNode {
  readonly long?: string;
  readonly short?: string;
  readonly help: string;
  /** The flag is followed by a value (`--retries 3`), which is not a subcommand or argument. */
  readonly takesValue: boolean;
  /** Fixed values, offered after the flag. */
  readonly choices: readonly string[];
}

/** One command of the tree, keyed by its path of canonical names below the root (`http get`). */
export interface CommandNode {
  readonly path: string;
  readonly name: string;
  readonly aliases: readonly string[];
  readonly help: string;
  readonly subcommands: readonly CommandNode[];
  readonly flags: readonly FlagNode[];
  /** Fixed values of its positional arguments (`completion <bash|zsh|fish>`). */
  readonly argChoices: readonly string[];
}

/** The visible command tree under `cmd`, read off commander's own objects (what --help shows). */
export function walk(cmd: Command, path = ''): CommandNode {
  const help = cmd.createHelp();
  const subcommands = help
    .visibleCommands(cmd)
    .filter((sub) => sub.name() !== 'help')
    .map((sub) => walk(sub, path ? `${path} ${sub.name()}` : sub.name()));
  const flags = help.visibleOptions(cmd).map(
    (o): FlagNode => ({
      ...(o.long ? { long: o.long } : {}),
      ...(o.short ? { short: o.short } : {}),
      help: o.description ?? '',
      takesValue: o.required || o.optional,
      choices: o.argChoices ?? [],
    }),
  );
  return {
    path,
    name: cmd.name(),
    aliases: cmd.aliases(),
    help: cmd.description(),
    subcommands,
    flags,
    argChoices: cmd.registeredArguments.flatMap((a) => a.argChoices ?? []),
  };
}

/** Every node, depth first, root included. */
export function nodes(root: CommandNode): CommandNode[] {
  return [root, ...root.subcommands.flatMap(nodes)];
}

/** Every spelling of a flag (`-r`, `--retries`). */
export function spellings(flag: FlagNode): string[] {
  return [flag.short, flag.long].filter((s): s is string => s !== undefined);
}
