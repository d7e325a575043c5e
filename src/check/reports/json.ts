import type { ReportEvent } from './events.js';

/**
 * NDJSON: every event as one line of JSON, in the order the runner emitted them (the same lines as
 * `comms-cli check --json`). JSON.stringify escapes line breaks inside strings, so one event is one line.
 */
export function renderJson(events: readonly ReportEvent[] | readonly object[]): string {
  return events.map((e) => `${JSON.stringify(e)}\n`).join('');
}
