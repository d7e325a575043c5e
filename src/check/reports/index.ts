import { writeFileSafely } from '../../core/safe-file.js';
import type { ReportEvent } from './events.js';
import { renderHtml } from './html.js';
import { renderJson } from './json.js';
import { renderJunit } from './junit.js';
import { renderTap } from './tap.js';

export type {
  CheckEvent,
  CheckFailure,
  ReportEvent,
  RunEvent,
  StepEvent,
  StepPhase,
  StepResult,
} from './events.js';
export { renderHtml, renderJson, renderJunit, renderTap };

/** The formats `--report FORMAT:PATH` takes. */
export const REPORT_FORMATS = ['junit', 'tap', 'json', 'html'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

/** Renders a report as text (pure: the same events give the same text). */
export function renderReport(format: ReportFormat, events: readonly ReportEvent[]): string {
  switch (format) {
    case 'junit':
      return renderJunit(events);
    case 'tap':
      return renderTap(events);
    case 'json':
      return renderJson(events);
    case 'html':
      return renderHtml(events);
  }
}

/**
 * Writes one report. `path` `-` is `stdout` (the process's unless the caller passes its own stream);
 * any other path is written atomically (a temp file beside it, renamed over it on success: a report
 * is never left half-written, and an existing file keeps its mode; symlinks are followed, devices
 * written through). Errors (a missing directory, a full disk) are thrown to the caller.
 */
export async function writeReport(
  format: ReportFormat,
  events: readonly ReportEvent[],
  path: string,
  stdout: NodeJS.WritableStream = process.stdout,
): Promise<void> {
  await writeReportText(renderReport(format, events), path, stdout);
}

/** Writes a rendered report to `path` (`-`: `stdout`), atomically as writeReport does. */
export async function writeReportText(
  text: string,
  path: string,
  stdout: NodeJS.WritableStream = process.stdout,
): Promise<void> {
  if (path === '-') {
    await new Promise<void>((resolve, reject) => {
      stdout.write(text, (err) => (err ? reject(err) : resolve()));
    });
    return;
  }
  await writeFileSafely(path, text);
}

/** Is this a report format this build can write? (`--report FORMAT:PATH` is checked before running.) */
export async function hasReport(format: string): Promise<boolean> {
  return (REPORT_FORMATS as readonly string[]).includes(format);
}
