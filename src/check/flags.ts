import { flag, integer, list, type OptionValues, path, text } from '../command/option.js';

/** `comms-cli check` options: declared once; --help, docs and the runner read them. */
export const CHECK_OPTIONS = {
  var: list(
    '--var <name=value>',
    'set a var (typed as a YAML scalar); beats --var-file and file vars (repeatable)',
  ),
  varFile: path('--var-file <file>', 'vars from a YAML map or a .env file'),
  filter: text('--filter <regex>', "run only checks whose 'file › check' name matches"),
  tag: list('--tag <tag>', "run only checks tagged T; '!T' leaves them out (repeatable)"),
  jobs: integer('--jobs <n>', 'run up to n files at once (output stays grouped per check)', {
    default: 1,
    min: 1,
  }),
  report: list(
    '--report <format:path>',
    'write a report: junit, tap, json or html; - is stdout (repeatable)',
  ),
  breakerState: path(
    '--breaker-state <file>',
    'keep the breakers of every step (with breaker: N) in this file, across checks and runs',
  ),
  failFast: flag('--fail-fast', 'after the first failure, checks not yet started are skipped'),
  dryRun: flag('--dry-run', 'validate every file and send nothing'),
  list: flag('--list', 'print the checks that would run'),
  json: flag('--json', 'one NDJSON event per step, per check and for the run on stdout'),
  quiet: flag('-q, --quiet', 'print only failures'),
  verbose: flag('-v, --verbose', 'print every step'),
  color: flag('--no-color', 'no colour (also NO_COLOR=1)'),
  showSecrets: flag('--show-secrets', 'do not redact secrets in output and reports'),
  printSchema: flag('--print-schema', 'print the JSON Schema of check files and exit'),
};
export type CheckValues = OptionValues<typeof CHECK_OPTIONS>;
