import type { Output } from './output.js';

export interface Spinner {
  text(text: string): void;
  stop(): void;
}

const NONE: Spinner = { text() {}, stop() {} };

/**
 * A spinner on stderr while a person waits for a call — only when stderr is a TTY and output is for
 * people (not -q, not --json). It appears after `delayMs`, so fast calls never flicker; ora is imported
 * only then. stdin is left alone (ora would otherwise discard it, and `-d @-` reads it).
 */
export function startSpinner(out: Output, text: string, delayMs = 300): Spinner {
  if (!out.stderrIsTTY || out.options.quiet || out.options.json) return NONE;
  let stopped = false;
  let current = text;
  let spinner: { stop(): unknown; text: string } | undefined;
  const timer = setTimeout(async () => {
    const { default: ora } = await import('ora');
    if (stopped) return;
    const s = ora({ text: current, stream: out.err, discardStdin: false, color: 'cyan' });
    spinner = s;
    out.attachSpinner(s);
    s.start();
  }, delayMs);
  timer.unref();
  return {
    text(t) {
      current = t;
      if (spinner) spinner.text = t;
    },
    stop() {
      stopped = true;
      clearTimeout(timer);
      spinner?.stop();
      out.attachSpinner(undefined);
    },
  };
}
