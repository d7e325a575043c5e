import { type Command, Option } from 'commander';
import { flagLabel, type OptionEntry, type OptionTable } from '../core/options.js';

/*
 * The option machinery's commander side. The entries, builders and parsers are plain data in
 * src/core/options.ts (so load/ and the check-file runner can use them below this layer); they are
 * re-exported here because every register.ts and flags.ts wants both halves.
 */
export {
  choice,
  duration,
  flag,
  flagLabel,
  fraction,
  integer,
  list,
  longFlag,
  MAX_TIMER_MS,
  number,
  type OptionEntry,
  type OptionKind,
  type OptionTable,
  type OptionValues,
  parseFraction,
  parseNonNegative,
  parseValues,
  parseWhole,
  path,
  readOptions,
  text,
} from '../core/options.js';

// ---- commander glue ----

/** The entry each commander Option was made from, so a walk over the program finds the typed data. */
const ENTRIES = new WeakMap<Option, { key: string; entry: OptionEntry<unknown> }>();

/** The table entry (and its key) behind a commander Option made by addOptions; undefined for others. */
export function optionEntryOf(option: Option): { key: string; entry: OptionEntry<unknown> } | undefined {
  return ENTRIES.get(option);
}

/** Attach every entry of `table` to `cmd`. Parsing happens as commander reads argv: at the edge. */
export function addOptions(cmd: Command, table: OptionTable): Command {
  for (const [key, spec] of Object.entries(table)) {
    const option = new Option(spec.flags, spec.help);
    ENTRIES.set(option, { key, entry: spec });
    const name = flagLabel(spec);
    const parse = spec.parse;
    if (parse) {
      if (spec.repeatable)
        option.argParser((raw: string, previous: unknown) => [
          ...(Array.isArray(previous) ? previous : []),
          parse(raw, name),
        ]);
      else option.argParser((raw: string) => parse(raw, name));
    }
    // commander applies the default and shows `(default: ...)`; lists and switches start empty/false
    // (readOptions fills those), and `--no-x` switches default to true in commander itself.
    if (spec.default !== undefined && !spec.repeatable && spec.kind !== 'boolean')
      option.default(spec.default, spec.defaultText);
    if (spec.choices) option.choices(spec.choices);
    // choices() installs its own parser; put ours back so our message and value win.
    if (parse && spec.choices) option.argParser((raw: string) => parse(raw, name));
    cmd.addOption(option);
  }
  return cmd;
}
