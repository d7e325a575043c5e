import { writeFileSafely } from '../../core/safe-file.js';
import type { CheckRunEvent } from '../events.js';

/**
 * Reports of a check run, written from the NDJSON event objects. `json` is the events one per line;
 * the other formats (junit, tap, html) live in their own modules beside this one and are loaded only
 * when asked for.
 */
export const REPORT_FORMATS = ['json', 'junit', 'tap', 'html'] as const;

export function renderJson(events: readonly CheckRunEvent[]): string {
  return events.map((e) => JSON.stringify(e)).join('\n') + (events.length > 0 ? '\n' : '');
}

type Renderer = (events: readonly CheckRunEvent[]) => string | Promise<string>;

async function rendererFor(format: string): Promise<Renderer | undefined> {
  if (format === 'json') return renderJson;
  if (!(REPORT_FORMATS as readonly string[]).includes(format)) return undefined;
  try {
    const mod = (await import(`./${format}.js`)) as { render?: Renderer };
    return mod.render;
  } catch {
    return undefined;
  }
}

/** Is this format available in this build? */
export async function hasReport(format: string): Promise<boolean> {
  return (REPORT_FORMATS as readonly string[]).includes(format) && (await rendererFor(format)) !== undefined;
}

/** Write one report; `path` '-' means stdout (`out`). */
export async function writeReport(
  format: string,
  events: readonly CheckRunEvent[],
  path: string,
  out: NodeJS.WritableStream = process.stdout,
): Promise<void> {
  const render = await rendererFor(format);
  if (!render) throw new Error(`report format '${format}' is not available`);
  const text = await render(events);
  if (path === '-') {
    await new Promise<void>((resolve, reject) => out.write(text, (err) => (err ? reject(err) : resolve())));
    return;
  }
  await writeFileSafely(path, text);
}
