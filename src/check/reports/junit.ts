import { xmlAttr, xmlText } from './escape.js';
import type { CheckReport, FileReport, ReportEvent } from './events.js';
import { failedStepOf, groupEvents, showValue, stepLines } from './group.js';

/**
 * JUnit XML, in the dialect the CI readers share (Jenkins, GitLab, GitHub test reporters, Azure,
 * CircleCI; the schema Jenkins' xunit plugin validates with, test/fixtures/junit-10.xsd):
 *
 *   <testsuites name tests failures errors skipped time>
 *     <testsuite name=FILE tests failures errors skipped time timestamp>   one per check file
 *       <properties><property name="trace-id:CHECK" value=TRACE/>...</properties>
 *       <testcase name=CHECK classname=FILE time=SECONDS>                   one per check
 *         <failure message=... type=KIND>step, command, expected, actual, trace id</failure>
 *         <skipped message=REASON/>
 *         <system-out>one line per step</system-out>
 *
 * A check that failed is a `<failure>` whatever its exit code (its `type` names the error kind:
 * `expectation`, `timeout`, `connect`, ...), as Hurl and Step CI report failed requests.
 */
export function renderJunit(events: readonly ReportEvent[]): string {
  const { files, run } = groupEvents(events);
  const out: string[] = ['<?xml version="1.0" encoding="UTF-8"?>'];
  out.push(
    `<testsuites name="comms-cli check" tests="${run.checks}" failures="${run.failed}" errors="0" time="${seconds(run.ms)}">`,
  );
  for (const file of files) out.push(...suite(file));
  out.push('</testsuites>');
  return `${out.join('\n')}\n`;
}

function suite(file: FileReport): string[] {
  const checks = file.checks.map((c) => c.check);
  const failed = checks.filter((c) => !c.ok && c.skipped === undefined).length;
  const skipped = checks.filter((c) => c.skipped !== undefined).length;
  const ms = checks.reduce((sum, c) => sum + c.ms, 0);
  const attrs = [
    `name="${xmlAttr(file.file)}"`,
    `tests="${checks.length}"`,
    `failures="${failed}"`,
    'errors="0"',
    `skipped="${skipped}"`,
    `time="${seconds(ms)}"`,
  ];
  const stamp = timestamp(checks.map((c) => c.startedAt));
  if (stamp) attrs.push(`timestamp="${stamp}"`);
  const out = [`  <testsuite ${attrs.join(' ')}>`];
  const traced = file.checks.filter((c) => c.check.traceId);
  if (traced.length > 0) {
    out.push('    <properties>');
    for (const c of traced) {
      out.push(
        `      <property name="${xmlAttr(`trace-id:${c.check.name}`)}" value="${xmlAttr(c.check.traceId)}"/>`,
      );
    }
    out.push('    </properties>');
  }
  for (const c of file.checks) out.push(...testcase(c));
  out.push('  </testsuite>');
  return out;
}

function testcase(report: CheckReport): string[] {
  const { check } = report;
  const open = `    <testcase name="${xmlAttr(check.name)}" classname="${xmlAttr(check.file)}" time="${seconds(check.ms)}">`;
  const out = [open];
  if (check.skipped !== undefined) {
    out.push(`      <skipped message="${xmlAttr(check.skipped)}"/>`);
  } else if (!check.ok) {
    const { message, type, body } = failure(report);
    out.push(
      `      <failure message="${xmlAttr(message)}" type="${xmlAttr(type)}">${xmlText(body)}</failure>`,
    );
  }
  const lines = stepLines(report);
  if (lines.length > 0) out.push(`      <system-out>${xmlText(lines.join('\n'))}\n</system-out>`);
  out.push('    </testcase>');
  return out;
}

/** The `<failure>` of a failed check: a one-line message naming the step, and the details as its text. */
function failure(report: CheckReport): { message: string; type: string; body: string } {
  const { check } = report;
  const step = failedStepOf(report);
  const f = check.failure;
  const stepName = f?.step ?? step?.step ?? '(unknown step)';
  const what = f?.message ?? step?.result.error?.message ?? `exit ${check.exit}`;
  // The message is what a CI page shows as the failure's title: one line.
  const message = `step "${stepName}": ${what}`.replace(/\s*[\r\n]+\s*/g, ' ');
  const type = step?.result.error?.kind ?? (check.exit === 1 ? 'expectation' : `exit ${check.exit}`);
  const expected = f?.expected !== undefined ? f.expected : step?.expected;
  const actual = f?.actual !== undefined ? f.actual : step?.actual;
  const path = f?.path ?? step?.path;

  const body: string[] = [`step:     ${stepName}`];
  if (step) body.push(`phase:    ${step.phase}`);
  if (step?.command) body.push(`command:  ${step.command}`);
  body.push(`message:  ${what}`);
  if (path !== undefined) body.push(`path:     ${path}`);
  if (expected !== undefined) body.push(`expected: ${showValue(expected)}`);
  if (actual !== undefined) body.push(`actual:   ${showValue(actual)}`);
  body.push(`exit:     ${check.exit}`);
  const attempts = step?.result.attempts ?? [];
  for (const a of attempts.slice(-3)) {
    const status = a.status !== undefined ? ` ${a.status}` : '';
    const err = a.error ? ` ${a.error.kind}: ${a.error.message}` : '';
    body.push(`attempt ${a.n}: ${a.ok ? 'ok' : 'failed'}${status} ${Math.round(a.ms)}ms${err}`);
  }
  if (check.traceId) body.push(`trace id: ${check.traceId}`);
  return { message, type, body: body.join('\n') };
}

/** Milliseconds as JUnit's seconds with three decimals (`0.312`). */
function seconds(ms: number): string {
  return (Math.max(0, ms) / 1000).toFixed(3);
}

/** The earliest start as `YYYY-MM-DDTHH:MM:SSZ` (UTC, no fraction: what every reader parses). */
function timestamp(starts: readonly string[]): string | undefined {
  const first = starts.reduce((min, s) => {
    const t = Date.parse(s);
    return Number.isNaN(t) ? min : Math.min(min, t);
  }, Number.POSITIVE_INFINITY);
  if (!Number.isFinite(first)) return undefined;
  return `${new Date(first).toISOString().slice(0, 19)}Z`;
}
