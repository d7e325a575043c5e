import type { BreakerScope } from '../core/breaker-scope.js';

/**
 * What a caller of `ctx.run` may replace for the command it runs: its streams (a check-file runner
 * collects a step's --json objects), its cancel signal (a step cut off by `within`), and a hook a
 * long-running command calls once it is ready (a subscription flushed), so a background step knows
 * when the next step may go, and the breakers its calls share.
 */
export interface RunIo {
  readonly stdout?: NodeJS.WriteStream;
  readonly stderr?: NodeJS.WriteStream;
  readonly signal?: AbortSignal;
  readonly ready?: () => void;
  /**
   * The circuit breakers the command's calls share with the caller's other commands (a check's
   * steps): every CallPipeline the command builds takes its breakers from here (core/breaker-scope.ts).
   */
  readonly breakers?: BreakerScope;
}

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
  readonly run: (argv: readonly string[], io?: RunIo) => Promise<number>;
  /** Called by a long-running command once it listens (see RunIo.ready); absent at the top level. */
  readonly ready?: () => void;
}
