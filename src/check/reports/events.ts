/**
 * The events `comms-cli check` emits while it runs: the `--json` lines and the input of every report
 * (`--report junit|tap|json|html:PATH`). The runner emits them in this order: the `step` events of a
 * check as its steps end (main steps, then compensations newest first, then `finally` steps), then that
 * check's `check` event, and one `run` event at the very end. With `--jobs N` the events of checks of
 * different files may interleave; the reports group them by `file` and check name, so that is fine.
 *
 * Every value is plain JSON (what `JSON.stringify` keeps), and secrets are already redacted by the
 * runner (`[REDACTED]`): the report writers print what they get, escaped for their format.
 */

/** Which part of a check a step belongs to (`shared/check-format.md`, Compensation). */
export type StepPhase = 'main' | 'compensate' | 'finally';

/**
 * A step's JSON result: the last object its command printed with `--json` (the contract's `Result`),
 * or `{ok, exit, items}` for a command with no final object, or the message an `await` took.
 */
export interface StepResult {
  ok: boolean;
  /** The step's exit code (0 ok, 1 failed/expectation, 2 usage, 3 connect, 4 timeout, 5 breaker, ...). */
  exit: number;
  error?: { kind: string; message: string; code?: string; hint?: string };
  /** One record per try of the command (its own `retries`), as `--json` shows them. */
  attempts?: ReadonlyArray<{
    n: number;
    ok: boolean;
    ms: number;
    status?: number | string;
    error?: { kind: string; message: string };
  }>;
  /** Everything else the command printed: status, headers, body, data, items, ... */
  [field: string]: unknown;
}

/** One step ended (or was cut off). One line per step in `--json` / `--report json:`. */
export interface StepEvent {
  type: 'step';
  /** The check file, as given on the command line (relative paths stay relative). */
  file: string;
  /** The check's name (for `each:` rows, `NAME [k=v, ...]`). */
  check: string;
  /** The step's `name`, else its command line. */
  step: string;
  phase: StepPhase;
  /** Wall time of the step, retries, polling (`until`) and waits included. */
  ms: number;
  result: StepResult;
  /** When an expectation failed: the JSONPath it read (`$.status`), absent for a whole-result matcher. */
  path?: string;
  /** When an expectation failed: what was expected (a value or a matcher object) ... */
  expected?: unknown;
  /** ... and what the step got. */
  actual?: unknown;
  /** The step's command line (`http post http://127.0.0.1:8080/orders --json-data ...`), secrets redacted. */
  command: string;
  /** When the step started, ISO 8601 with milliseconds (`2025-01-31T10:00:00.123Z`). */
  startedAt: string;
}

/** Why a check failed: the first failing step (a compensation or finally step only if nothing else failed). */
export interface CheckFailure {
  /** The failing step's name (as in its StepEvent). */
  step: string;
  /** One line: what went wrong (`$.status: expected 201, got 500`, `timed out after 5s`, ...). */
  message: string;
  path?: string;
  expected?: unknown;
  actual?: unknown;
}

/** One check ended (passed, failed or was skipped). Emitted after the check's step events. */
export interface CheckEvent {
  type: 'check';
  file: string;
  name: string;
  ok: boolean;
  /** The check's exit code (0 when it held or was skipped). */
  exit: number;
  ms: number;
  /** How many steps ran (all phases). */
  steps: number;
  failure?: CheckFailure;
  /** The check's W3C trace id (32 lowercase hex digits); empty for a check that never ran. */
  traceId: string;
  /** Set when the check did not run: `skip:` in the file, an `if` that was false, `--fail-fast`, an interrupt. */
  skipped?: string;
  /** When the check started (ISO 8601); steps' `startedAt` are laid out from it. */
  startedAt: string;
  /** The check's `tags`, when it has any. */
  tags?: readonly string[];
}

/** The run ended. Always the last event. */
export interface RunEvent {
  type: 'run';
  checks: number;
  passed: number;
  failed: number;
  skipped: number;
  ms: number;
  /** The run's exit code, when the runner knows it (0, 1-5, 2, 130). */
  exit?: number;
  /** True when Ctrl-C / SIGTERM ended the run (reports hold what ran). */
  interrupted?: boolean;
}

export type ReportEvent = StepEvent | CheckEvent | RunEvent;

/** A check with its steps, as the reports show it. */
export interface CheckReport {
  check: CheckEvent;
  /** The check's steps in the order they ended (main, then compensations, then finally). */
  steps: StepEvent[];
}

/** The checks of one file, in the order their events came. */
export interface FileReport {
  file: string;
  checks: CheckReport[];
}

/** The whole run, grouped: what every report writer reads. */
export interface RunReport {
  files: FileReport[];
  run: RunEvent;
}
