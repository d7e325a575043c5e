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

/** commander's private lookup of a registered option by flag, used by addOption's clash check. */
type FindOption = (arg: string) => Option | undefined;

/** Attach every entry of `table` to `cmd`. Parsing happens as commander reads argv: at the edge. */
export function addOptions(cmd: Command, table: OptionTable): Command {
  // commander's addOption checks each new flag against every registered option with a linear scan
  // (Command._findOption): quadratic over a ~70-flag table, ~2-3 ms of every one-shot run. While the
  // table is added, the same check answers from a map of the flags registered so far; commander's
  // own method is back in place afterwards (and for every other caller). Where commander has no such
  // method, nothing is replaced.
  const own = cmd as unknown as { _findOption?: FindOption };
  const scan = own._findOption;
  const hadOwn = Object.hasOwn(own, '_findOption');
  const byFlag = new Map<string, Option>();
  const note = (option: Option) => {
    if (option.short) byFlag.set(option.short, option);
    if (option.long) byFlag.set(option.long, option);
  };
  if (typeof scan === 'function') {
    for (const option of cmd.options) note(option);
    own._findOption = (arg) => byFlag.get(arg);
  }
  try {
    addEntries(cmd, table, note);
  } finally {
    if (hadOwn) own._findOption = scan;
    else delete own._findOption;
  }
  return cmd;
}

function addEntries(cmd: Command, table: OptionTable, note: (option: Option) => void): void {
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
    note(option);
  }
}
