import type { Argument, Command } from 'commander';

/**
 * How a command's positional argument reads as a key of a check-file step, where the command line
 * says less. A step names its positionals, so one the command line may leave out because another
 * stands in for it (`http URL`: the URL alone, the method implied) is required there; and a value that
 * can be checked without running anything (a URL that cannot parse) is checked when the file is loaded.
 */
export interface StepArgumentSpec {
  /** Required in a step even though the command line may leave it out. */
  readonly required?: boolean;
  /** Validates a value written without templates; throws (a UsageError) when it cannot be used. */
  readonly parse?: (raw: string) => unknown;
}

const SPECS = new WeakMap<Argument, StepArgumentSpec>();

/** Declare how `cmd`'s positional `name` (as registered) reads in a step. */
export function stepArgument(cmd: Command, name: string, spec: StepArgumentSpec): Command {
  const arg = cmd.registeredArguments.find((a) => a.name() === name);
  if (!arg) throw new Error(`stepArgument: ${cmd.name()} has no argument '${name}'`);
  SPECS.set(arg, spec);
  return cmd;
}

/** The step declaration of a positional, if its command made one. */
export function stepArgumentOf(arg: Argument): StepArgumentSpec | undefined {
  return SPECS.get(arg);
}

const LINES = new WeakMap<Command, (positionals: readonly string[]) => void>();

/**
 * Declare how `cmd`'s positionals, as a command line gives them (a check file's `run:` line), can be
 * checked without running it; `check` throws (a UsageError) when the command would refuse them.
 */
export function stepLine(cmd: Command, check: (positionals: readonly string[]) => void): Command {
  LINES.set(cmd, check);
  return cmd;
}

/** The command-line check a command declared, if any. */
export function stepLineOf(cmd: Command): ((positionals: readonly string[]) => void) | undefined {
  return LINES.get(cmd);
}
