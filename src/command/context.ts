/** What every command action receives from main: the Ctrl-C signal, the process streams, the exit setter. */
export interface CommandContext {
  /** Aborted with an InterruptedError on the first Ctrl-C. */
  readonly signal: AbortSignal;
  readonly stdin: NodeJS.ReadStream;
  /**
   * Where the command's Output writes (process.stdout/stderr at the top level). A check-file runner
   * passes its own streams to collect a step's --json objects; so every runner builds its Output as
   * `new Output(options, ctx.stdout, ctx.stderr)`, never on the process streams directly.
   */
  readonly stdout: NodeJS.WriteStream;
  readonly stderr: NodeJS.WriteStream;
  /** Records the exit code a command decided; only main.ts applies it to the process. */
  readonly setExit: (code: number) => void;
  /**
   * Run another comms-cli command in this process, through the same program and the same error
   * mapping, and return its exit code (`['http', 'get', url, '--retries', '3']`). The demo and
   * check files use it, so a slice runs another slice's command without importing it.
   */
  readonly run: (argv: readonly string[], streams?: CommandStreams) => Promise<number>;
}

/** Streams for a command run through `ctx.run` (default: the caller's process streams). `demo -q` passes sinks. */
export interface CommandStreams {
  readonly stdout?: NodeJS.WriteStream;
  readonly stderr?: NodeJS.WriteStream;
}
