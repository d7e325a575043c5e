/**
 * The progress line of `comms-cli check` on a TTY (stderr a terminal, not --json, not -q): an ora
 * spinner naming the check and its last step, cleared while a result line is written and drawn
 * again below it. Elsewhere (CI logs, pipes) it is nothing, and `write` is a plain write.
 */
export interface Progress {
  update(text: string): void;
  /** Write finished output (check lines) above the progress line. */
  write(text: string): void;
  stop(): void;
}

interface Spinner {
  text: string;
  start(): unknown;
  stop(): unknown;
  clear(): unknown;
  render(): unknown;
}

export async function startProgress(stream: NodeJS.WriteStream, enabled: boolean): Promise<Progress> {
  // A terminal that reports no width (some pseudo-terminals) cannot be redrawn line by line.
  if (!enabled || !stream.isTTY || !(stream.columns > 0)) {
    return { update() {}, write: (t) => void stream.write(t), stop() {} };
  }
  // ora only when it is shown: it is not needed on the CI path. stdin is left alone (exec steps).
  const { default: ora } = await import('ora');
  const spinner: Spinner & { isEnabled: boolean } = ora({
    text: 'starting',
    stream,
    discardStdin: false,
    color: 'cyan',
  });
  // ora turns itself off where it cannot redraw (CI=true, a dumb terminal): then no line at all.
  if (!spinner.isEnabled) return { update() {}, write: (t) => void stream.write(t), stop() {} };
  spinner.start();
  let stopped = false;
  return {
    update(text) {
      // One line: a wrapped progress line would leave its first half behind on every redraw.
      const width = Math.max(10, (stream.columns || 80) - 3);
      if (!stopped) spinner.text = text.length > width ? `${text.slice(0, width - 1)}…` : text;
    },
    write(text) {
      if (stopped) return void stream.write(text);
      spinner.clear();
      stream.write(text);
      spinner.render();
    },
    stop() {
      if (stopped) return;
      stopped = true;
      spinner.stop();
    },
  };
}
