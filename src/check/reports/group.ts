import type {
  CheckEvent,
  CheckFailure,
  CheckReport,
  FileReport,
  ReportEvent,
  RunEvent,
  RunReport,
  StepEvent,
} from './events.js';

/** Grouping and small text helpers shared by the report writers. */

/** Exit codes of failed/ok, as the contract numbers them; kept here so the reports need no other import. */
const EXIT_FAILED = 1;

const keyOf = (file: string, check: string): string => `${file}\u0000${check}`;

/**
 * Groups events by file and check, in order of first appearance. Steps whose check event never came
 * (a runner cut off hard) still appear, under a check made up from them, so no step is lost; a missing
 * run event is computed from the checks.
 */
export function groupEvents(events: readonly ReportEvent[]): RunReport {
  const files = new Map<string, FileReport>();
  const checks = new Map<string, CheckReport>();
  const pending = new Map<string, StepEvent[]>();
  let run: RunEvent | undefined;

  const fileOf = (file: string): FileReport => {
    let f = files.get(file);
    if (!f) {
      f = { file, checks: [] };
      files.set(file, f);
    }
    return f;
  };

  for (const e of events) {
    if (e.type === 'run') {
      run = e;
    } else if (e.type === 'step') {
      const key = keyOf(e.file, e.check);
      fileOf(e.file); // the file keeps its place from its first event
      const done = checks.get(key);
      if (done) done.steps.push(e);
      else {
        const list = pending.get(key);
        if (list) list.push(e);
        else pending.set(key, [e]);
      }
    } else {
      const key = keyOf(e.file, e.name);
      const steps = pending.get(key) ?? [];
      pending.delete(key);
      const report: CheckReport = { check: e, steps };
      checks.set(key, report);
      fileOf(e.file).checks.push(report);
    }
  }
  for (const steps of pending.values()) {
    const first = steps[0]!;
    fileOf(first.file).checks.push({ check: checkFromSteps(steps), steps });
  }

  const all = [...files.values()].flatMap((f) => f.checks.map((c) => c.check));
  run ??= {
    type: 'run',
    checks: all.length,
    passed: all.filter((c) => c.ok && !c.skipped).length,
    failed: all.filter((c) => !c.ok && !c.skipped).length,
    skipped: all.filter((c) => c.skipped !== undefined).length,
    ms: all.reduce((sum, c) => sum + c.ms, 0),
  };
  return { files: [...files.values()], run };
}

/** A check event made up from its steps (its own event never came). */
function checkFromSteps(steps: readonly StepEvent[]): CheckEvent {
  const first = steps[0]!;
  const failed = steps.find((s) => !s.result.ok);
  const start = steps.reduce((min, s) => Math.min(min, timeOf(s.startedAt) ?? min), Number.POSITIVE_INFINITY);
  const end = steps.reduce((max, s) => Math.max(max, (timeOf(s.startedAt) ?? 0) + s.ms), 0);
  const check: CheckEvent = {
    type: 'check',
    file: first.file,
    name: first.check,
    ok: failed === undefined,
    exit: failed ? failed.result.exit || EXIT_FAILED : 0,
    ms: Number.isFinite(start) ? Math.max(0, end - start) : steps.reduce((sum, s) => sum + s.ms, 0),
    steps: steps.length,
    traceId: '',
    startedAt: first.startedAt,
  };
  if (failed) check.failure = failureOf(failed, 'the check ended without a result');
  return check;
}

/** The failure a failed step stands for. */
export function failureOf(step: StepEvent, fallback = 'failed'): CheckFailure {
  const failure: CheckFailure = { step: step.step, message: step.result.error?.message ?? fallback };
  if (step.path !== undefined) failure.path = step.path;
  if (step.expected !== undefined) failure.expected = step.expected;
  if (step.actual !== undefined) failure.actual = step.actual;
  return failure;
}

/** Milliseconds since the epoch of an ISO time, or undefined when it is missing or not a time. */
export function timeOf(iso: string | undefined): number | undefined {
  if (!iso) return undefined;
  const t = Date.parse(iso);
  return Number.isNaN(t) ? undefined : t;
}

/** A value as one line of text: strings as they are, everything else as JSON. */
export function showValue(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === undefined) return 'undefined';
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** The check's status as the reports name it. */
export function statusOf(check: CheckEvent): 'passed' | 'failed' | 'skipped' {
  if (check.skipped !== undefined) return 'skipped';
  return check.ok ? 'passed' : 'failed';
}

/** `file › check`, the name `--filter` matches and the terminal prints. */
export function fullName(check: CheckEvent): string {
  return `${check.file} › ${check.name}`;
}

/**
 * The failed step of a failed check: the step its `failure` names (preferring the main phase), else
 * the first failed main step, else any failed step.
 */
export function failedStepOf(report: CheckReport): StepEvent | undefined {
  const named = report.check.failure?.step;
  const byName = named === undefined ? [] : report.steps.filter((s) => s.step === named);
  return (
    byName.find((s) => s.phase === 'main' && !s.result.ok) ??
    byName.find((s) => !s.result.ok) ??
    report.steps.find((s) => s.phase === 'main' && !s.result.ok) ??
    report.steps.find((s) => !s.result.ok)
  );
}

/** Text lines of a check's steps, for JUnit `<system-out>` and anything else that wants plain text. */
export function stepLines(report: CheckReport): string[] {
  const lines: string[] = [];
  if (report.check.traceId) lines.push(`trace id ${report.check.traceId}`);
  if (report.check.skipped !== undefined) lines.push(`skipped: ${report.check.skipped}`);
  const width = report.steps.reduce((w, s) => Math.max(w, `${Math.round(s.ms)}ms`.length), 0);
  for (const s of report.steps) {
    const status = s.result.ok ? 'ok  ' : 'FAIL';
    const ms = `${Math.round(s.ms)}ms`.padStart(width);
    const exit = s.result.ok ? '' : ` (exit ${s.result.exit})`;
    lines.push(`${s.phase.padEnd(10)} ${status} ${ms}  ${s.step}${exit}`);
    const pad = ' '.repeat(10 + 1 + 4 + 1 + width + 2);
    if (s.command && s.command !== s.step) lines.push(`${pad}$ ${s.command.replace(/\r?\n/g, ' ')}`);
    if (!s.result.ok) {
      const more: string[] = [];
      if (s.result.error?.message) more.push(s.result.error.message);
      if (s.path !== undefined) more.push(`path:     ${s.path}`);
      if (s.expected !== undefined) more.push(`expected: ${showValue(s.expected)}`);
      if (s.actual !== undefined) more.push(`actual:   ${showValue(s.actual)}`);
      // A multi-line message stays under its step: every line indented.
      for (const text of more) for (const line of text.split(/\r?\n/)) lines.push(`${pad}${line}`);
    }
  }
  return lines;
}
