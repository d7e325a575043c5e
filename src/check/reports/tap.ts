import { yamlString, yamlValue } from './escape.js';
import type { CheckReport, ReportEvent } from './events.js';
import { failedStepOf, fullName, groupEvents } from './group.js';

/**
 * TAP version 14 (https://testanything.org/tap-version-14-specification.html): the plan first, one test
 * point per check (`file › check`), and on a failure a YAML diagnostic block (`  ---` ... `  ...`) with
 * the step, its message, expected, actual and the trace id. Skipped checks are `ok N - ... # SKIP reason`.
 * Every diagnostic value is a YAML double-quoted string or JSON flow (JSON is YAML 1.2), so any text
 * a peer sent stays one valid scalar.
 */
export function renderTap(events: readonly ReportEvent[]): string {
  const { files } = groupEvents(events);
  const checks = files.flatMap((f) => f.checks);
  const out = ['TAP version 14', `1..${checks.length}`];
  checks.forEach((report, i) => {
    out.push(...testPoint(report, i + 1));
  });
  return `${out.join('\n')}\n`;
}

function testPoint(report: CheckReport, n: number): string[] {
  const { check } = report;
  const description = tapDescription(fullName(check));
  if (check.skipped !== undefined) return [`ok ${n} - ${description} # SKIP ${tapDirective(check.skipped)}`];
  if (check.ok) return [`ok ${n} - ${description}`];

  const step = failedStepOf(report);
  const f = check.failure;
  const diag: Array<[string, unknown]> = [
    ['message', f?.message ?? step?.result.error?.message ?? `exit ${check.exit}`],
    ['severity', 'fail'],
    ['file', check.file],
    ['check', check.name],
    ['step', f?.step ?? step?.step ?? null],
  ];
  if (step) diag.push(['phase', step.phase]);
  if (step?.command) diag.push(['command', step.command]);
  const path = f?.path ?? step?.path;
  if (path !== undefined) diag.push(['path', path]);
  const expected = f?.expected !== undefined ? f.expected : step?.expected;
  const actual = f?.actual !== undefined ? f.actual : step?.actual;
  if (expected !== undefined) diag.push(['expected', expected]);
  if (actual !== undefined) diag.push(['actual', actual]);
  if (step?.result.error?.kind) diag.push(['kind', step.result.error.kind]);
  diag.push(['exit', check.exit]);
  diag.push(['duration_ms', Math.round(check.ms)]);
  diag.push(['traceId', check.traceId]);
  return [
    `not ok ${n} - ${description}`,
    '  ---',
    ...diag.map(
      ([key, value]) => `  ${key}: ${typeof value === 'string' ? yamlString(value) : yamlValue(value)}`,
    ),
    '  ...',
  ];
}

/** A description on one line, `#` and `\` escaped as TAP 14 says (`\#` is not a directive). */
function tapDescription(text: string): string {
  return oneLine(text).replace(/\\/g, '\\\\').replace(/#/g, '\\#');
}

/** The reason after `# SKIP`: one line (a directive ends the line, so `#` needs no escape there). */
function tapDirective(text: string): string {
  return oneLine(text);
}

function oneLine(text: string): string {
  return text
    .replace(/[\r\n\u2028\u2029]+/g, ' ')
    .replace(/[\u0000-\u0008\u000B-\u001F\u007F]/g, '')
    .trim();
}
