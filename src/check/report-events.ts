import type { CheckEvent, CheckRunEvent, RunEvent, StepEvent } from './events.js';
import type {
  CheckEvent as ReportCheck,
  ReportEvent,
  RunEvent as ReportRun,
  StepEvent as ReportStep,
  StepResult,
} from './reports/events.js';

type Loose = Record<string, unknown>;

/** The error kind an exit code stands for (the contract's table), for a failed step's `result.error`. */
const KIND_BY_EXIT: Readonly<Record<number, string>> = {
  1: 'expectation',
  2: 'usage',
  3: 'connect',
  4: 'timeout',
  5: 'breaker',
  6: 'local',
  130: 'interrupted',
};

/**
 * The runner's events (the `--json` lines) as the report writers read them (reports/events.ts).
 *
 * A step's verdict is the runner's, not its command's: a command that exited 0 whose `expect`,
 * `until` or `expect-exit` failed is a failed step. The runner says so in the step's own `ok`,
 * `exit` and `failure`; its `result` stays what the command printed (`"ok":true`). The reports read
 * `result.ok`/`result.exit`/`result.error`, so those carry the step's verdict here. Wall-clock times
 * (`startedAt`) come from when each check started (`checkStarted`, ms since the epoch) plus the
 * step's `start`.
 */
export function toReportEvent(e: CheckRunEvent, checkStarted: number | undefined): ReportEvent {
  if (e.type === 'step') return reportStep(e, checkStarted ?? Date.now());
  if (e.type === 'check') return reportCheck(e, checkStarted ?? Date.now());
  return reportRun(e);
}

function reportStep(e: StepEvent, checkStarted: number): ReportStep {
  const raw = e.result;
  const own: Loose =
    raw !== null && typeof raw === 'object' && !Array.isArray(raw)
      ? { ...(raw as Loose) }
      : raw === null || raw === undefined
        ? {}
        : { value: raw };
  const ownError = own.error as { kind?: unknown; message?: unknown } | undefined;
  const result: StepResult = { ...own, ok: e.ok, exit: e.exit };
  if (!e.ok) {
    const kind = typeof ownError?.kind === 'string' ? ownError.kind : (KIND_BY_EXIT[e.exit] ?? 'failed');
    const message =
      e.failure?.message ?? (typeof ownError?.message === 'string' ? ownError.message : `exit ${e.exit}`);
    result.error = { kind, message };
  } else delete result.error;
  if (e.skipped) result.skipped = true;
  return {
    type: 'step',
    file: e.file,
    check: e.check,
    step: e.step,
    phase: e.phase,
    ms: e.ms,
    result,
    command: e.command ?? e.step,
    startedAt: new Date(checkStarted + e.start).toISOString(),
  };
}

function reportCheck(e: CheckEvent, checkStarted: number): ReportCheck {
  return {
    type: 'check',
    file: e.file,
    name: e.name,
    ok: e.ok,
    exit: e.exit,
    ms: e.ms,
    steps: e.steps,
    ...(e.failure ? { failure: { step: e.failure.step, message: e.failure.message } } : {}),
    traceId: e.traceId,
    ...(e.skipped !== undefined ? { skipped: e.skipped } : {}),
    startedAt: new Date(checkStarted).toISOString(),
    ...(e.tags ? { tags: e.tags } : {}),
  };
}

function reportRun(e: RunEvent): ReportRun {
  return {
    type: 'run',
    checks: e.checks,
    passed: e.passed,
    failed: e.failed,
    skipped: e.skipped,
    ms: e.ms,
    exit: e.exit,
    ...(e.exit === 130 ? { interrupted: true } : {}),
  };
}
