import type { Command, Option } from 'commander';
import { stepArgumentOf, stepLineOf } from '../command/argument.js';
import { optionEntryOf } from '../command/option.js';
import type { OptionKind } from '../core/options.js';

/**
 * The step kinds of check files, read off the command tree itself: every command with an action is a
 * step whose key is its canonical path (`http`, `grpc.call`, `nats.publish`), whose positionals are
 * its declared arguments by name and whose options are its option table entries by long flag name.
 * So a transport adds steps by registering commands; nothing here names a transport.
 */
export interface StepOption {
  /** The long flag without dashes, as spelled (`expect-status`, `no-ack`). */
  readonly name: string;
  readonly help: string;
  readonly kind: OptionKind;
  /** A switch: `true` writes the flag, `false` leaves it out. */
  readonly boolean: boolean;
  readonly repeatable: boolean;
  readonly mapSyntax?: ': ' | '=';
  readonly choices?: readonly string[];
  readonly secret: boolean;
  readonly parse?: (raw: string, flag: string) => unknown;
}

export interface StepPositional {
  readonly name: string;
  /** Required in a step that names its positionals ({method, url}). */
  readonly required: boolean;
  /** Required on a command line (a `run:` step): what commander itself requires. */
  readonly onLine: boolean;
  readonly variadic: boolean;
  readonly help: string;
  /** Checks a value written without templates when the file is loaded; throws when it cannot be used. */
  readonly parse?: (raw: string) => unknown;
}

export interface StepKind {
  /** `grpc.call` */
  readonly path: string;
  /** The command words: `['grpc', 'call']`. */
  readonly words: readonly string[];
  readonly help: string;
  readonly positionals: readonly StepPositional[];
  readonly options: ReadonlyMap<string, StepOption>;
  /** Every long flag the command takes, output flags included (`json`, `show-secrets`). */
  readonly accepts: ReadonlySet<string>;
  /** Checks the positionals of a `run:` line as the command reads them; throws when it would refuse them. */
  readonly checkLine?: (positionals: readonly string[]) => void;
}

/** Commands that are not steps: the runner itself, the guided tour, shell completion scripts. */
const NOT_STEPS = new Set(['check', 'demo', 'help', 'completion']);
/** Output flags: a step's output belongs to the runner (it always reads --json). */
export const OUTPUT_FLAGS = new Set([
  'json',
  'quiet',
  'silent',
  'show-error',
  'verbose',
  'no-color',
  'show-secrets',
  'debug',
  'raw',
  'lines',
]);

function hasAction(cmd: Command): boolean {
  return Boolean((cmd as unknown as { _actionHandler?: unknown })._actionHandler);
}

function stepOption(opt: Option): StepOption | undefined {
  const long = opt.long;
  if (!long) return undefined;
  const name = long.replace(/^--/, '');
  const found = optionEntryOf(opt);
  const takesValue = opt.required || opt.optional;
  const entry = found?.entry;
  const kind: OptionKind = entry?.kind ?? (takesValue ? 'text' : 'boolean');
  const mapSyntax = (entry as { mapSyntax?: ': ' | '=' } | undefined)?.mapSyntax;
  const choices = entry?.choices ?? opt.argChoices;
  return {
    name,
    help: opt.description,
    kind,
    boolean: !takesValue,
    repeatable: entry?.repeatable ?? opt.variadic,
    ...(mapSyntax ? { mapSyntax } : {}),
    ...(choices ? { choices } : {}),
    secret: entry?.secret === true,
    ...(entry?.parse ? { parse: entry.parse } : {}),
  };
}

/** Walk the program: every command with an action, keyed by its canonical path. */
export function stepCatalogue(program: Command): Map<string, StepKind> {
  const kinds = new Map<string, StepKind>();
  const walk = (cmd: Command, words: string[]) => {
    for (const sub of cmd.commands) {
      if (words.length === 0 && NOT_STEPS.has(sub.name())) continue;
      // Aliases registered as their own commands (`publish` for `nats publish`) are not canonical.
      if (/^alias of\b/i.test(sub.description())) continue;
      const path = [...words, sub.name()];
      if (hasAction(sub)) {
        const options = new Map<string, StepOption>();
        const accepts = new Set<string>();
        for (const opt of sub.options) {
          const o = stepOption(opt);
          if (o) accepts.add(o.name);
          if (o && !OUTPUT_FLAGS.has(o.name)) options.set(o.name, o);
        }
        const positionals = sub.registeredArguments.map((arg): StepPositional => {
          const spec = stepArgumentOf(arg);
          return {
            name: (arg.name().split('|')[0] ?? arg.name()).trim(),
            required: arg.required || spec?.required === true,
            onLine: arg.required,
            variadic: arg.variadic,
            help: arg.description,
            ...(spec?.parse ? { parse: spec.parse } : {}),
          };
        });
        const checkLine = stepLineOf(sub);
        kinds.set(path.join('.'), {
          path: path.join('.'),
          words: path,
          help: sub.description(),
          positionals,
          options,
          accepts,
          ...(checkLine ? { checkLine } : {}),
        });
      }
      walk(sub, path);
    }
  };
  walk(program, []);
  return kinds;
}

/** Every option name any step kind takes (for "a default that no step can take"). */
export function allOptionNames(kinds: ReadonlyMap<string, StepKind>): Set<string> {
  const names = new Set<string>();
  for (const k of kinds.values()) for (const n of k.options.keys()) names.add(n);
  return names;
}
