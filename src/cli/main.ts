import { setFlagsFromString } from 'node:v8';
import { CommanderError } from 'commander';
import type { CommandStreams } from '../command/context.js';
import { toCommsError } from '../errors/classify.js';
import { type CommsError, InterruptedError, UsageError } from '../errors/comms-error.js';
import { ExitCode, exitCodeForKind } from '../errors/exit-codes.js';
import { DEFAULT_OUTPUT, Output, STDOUT_CLOSED } from '../output/output.js';
import { buildProgram } from './program.js';

/**
 * Entry point: build the program, parse, run the chosen command, map any error to the contract's
 * exit code. This is the only place that sets process.exitCode.
 */
// undici parses HTTP with llhttp compiled to WebAssembly. V8 compiles it with its baseline compiler and
// then again with TurboFan in the background, and Node waits for that background job before exiting:
// ~400-500 ms of idle wall time after a one-shot `comms-cli http get` (measured; see bench/RESULTS.md).
// Load mode keeps the optimising tier, where parsing speed over many responses is worth it.
if (!process.argv.some((a) => /^(-n|--requests|--duration|--rate)(=|$)/.test(a) || /^-n\d/.test(a))) {
  setFlagsFromString('--liftoff-only');
}
/** How long the process may linger after its verdict for sockets to finish closing. */
const EXIT_GRACE_MS = 300;
const interrupt = new AbortController();
let interrupts = 0;
process.on('SIGINT', () => {
  interrupts += 1;
  if (interrupts === 1) {
    interrupt.abort(new InterruptedError('interrupted (Ctrl-C)'));
    return;
  }
  // A second Ctrl-C means "now": skip draining.
  process.stderr.write('\ninterrupted again: exiting without draining\n');
  // biome-ignore lint/nursery/noProcessExit: the user asked twice; draining is what they are skipping
  process.exit(ExitCode.interrupted);
});
process.on('SIGTERM', () => interrupt.abort(new InterruptedError('terminated (SIGTERM)')));
// `comms-cli ... | head -1` closes stdout early: the reader has what it wanted, so stop the work
// (abort, drain) and exit 0 quietly, as `yes | head -1` users expect, instead of crashing with EPIPE.
let stdoutClosed = false;
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EPIPE') return;
  stdoutClosed = true;
  interrupt.abort(new InterruptedError('stdout closed', { code: STDOUT_CLOSED }));
});

/** Output for errors that happen before (or outside) a command's own output: flags read off argv. */
function errorOutputFor(argv: readonly string[], streams: CommandStreams): Output {
  return new Output(
    {
      ...DEFAULT_OUTPUT,
      debug: argv.includes('--debug') || ['1', 'true'].includes(process.env.COMMS_DEBUG ?? ''),
      ...(argv.includes('--no-color') ? { color: false } : {}),
    },
    streams.stdout ?? process.stdout,
    streams.stderr ?? process.stderr,
  );
}

/**
 * Run one command line (without the program name) and return its exit code: parse, run the chosen
 * command, map any error to the contract's exit code. The top level and `ctx.run` (demo, check
 * files) share it, so a command behaves the same however it is started.
 */
async function execute(argv: readonly string[], streams: CommandStreams = {}): Promise<number> {
  const state = { exit: ExitCode.ok as number };
  const errorOutput = errorOutputFor(argv, streams);
  /**
   * With --json, a run that fails before any result (bad flag, bad URL, unreadable file) still puts one
   * object on stdout, so `... --json | jq` always has something to read.
   */
  const jsonError = async (err: CommsError): Promise<void> => {
    if (!argv.includes('--json')) return;
    await errorOutput.json({ ok: false, exit: exitCodeForKind(err.kind), error: err.toJSON() });
  };
  const program = buildProgram({
    signal: interrupt.signal,
    stdin: process.stdin,
    stdout: streams.stdout ?? process.stdout,
    stderr: streams.stderr ?? process.stderr,
    setExit: (code: number) => {
      state.exit = code;
    },
    run: execute,
  });
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return state.exit;
  } catch (err) {
    if (err instanceof CommanderError) {
      // commander already printed its message; help and version are successes.
      if (
        err.code === 'commander.helpDisplayed' ||
        err.code === 'commander.version' ||
        err.code === 'commander.help'
      ) {
        return ExitCode.ok;
      }
      if (err.code === 'commander.executeSubCommandAsync') return err.exitCode;
      await jsonError(new UsageError(err.message.replace(/^error: /, '')));
      return ExitCode.usage;
    }
    if (stdoutClosed) return ExitCode.ok;
    const typed =
      interrupt.signal.aborted && !(err instanceof UsageError)
        ? toCommsError(err, undefined, interrupt.signal)
        : toCommsError(err);
    errorOutput.error(typed, err instanceof Error ? err.stack : undefined);
    await jsonError(typed);
    return exitCodeForKind(typed.kind);
  }
}

const code = await execute(process.argv.slice(2));
process.exitCode = stdoutClosed ? ExitCode.ok : code;
// After the verdict the process ends promptly, whatever a peer left open: a socket stuck in a connect
// or a TLS handshake, a NATS server that never sent INFO. Commands close what they own before they
// return; this only catches what a library could not close. The timer is unref'd, so a process with
// nothing left open exits at once without waiting for it.
setTimeout(() => {
  // biome-ignore lint/nursery/noProcessExit: the verdict is out; a peer's half-open socket must not hold the process
  process.exit();
}, EXIT_GRACE_MS).unref();
