import type { Output } from '../../../output/output.js';
import type { MetadataRecord } from '../connection.js';
import { escapeControls } from '../escape.js';
import { STATUS_DETAILS_KEY } from '../status-details.js';

/** `-v`: metadata as `> key: value` (sent) or `< key: value` (received) lines on stderr, secrets redacted. */
export function printMetadata(output: Output, arrow: '>' | '<', md: MetadataRecord, label?: string): void {
  if (!output.options.verbose) return;
  const safe = output.safe(md);
  for (const [k, v] of Object.entries(safe)) {
    if (k === STATUS_DETAILS_KEY) continue;
    for (const value of Array.isArray(v) ? v : [v])
      output.verbose(
        output.c.dim(`${arrow} ${label ? `${label} ` : ''}${k}: ${escapeControls(String(value))}`),
      );
  }
}
