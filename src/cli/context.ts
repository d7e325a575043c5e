/** What every command action receives from main: the Ctrl-C signal and the process streams. */
export interface CommandContext {
  /** Aborted with an InterruptedError on the first Ctrl-C. */
  readonly signal: AbortSignal;
  readonly stdin: NodeJS.ReadStream;
}
