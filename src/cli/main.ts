import { type Command, CommanderError } from 'commander';
import type { RunIo } from '../command/context.js';
import { toCommsError } from '../errors/classify.js';
import { type CommsError, InterruptedError, UsageError } from '../errors/comms-error.js';
import { ExitCode, exitCodeForKind } from '../errors/exit-codes.js';
import { DEFAULT_OUTPUT, Output, STDOUT_CLOSED } from '../output/output.js';
import { buildProgram } from './program.js';

/**
 * Entry point: build the program, parse, run the chosen command, map any error to the contract's
 * exit code. This is the only place that sets process.exitCode.
 */
/** How long the process may linger after its verdict for sockets to finish closing. */
const EXIT_GRACE_MS = 300;
const interrupt = new AbortController();
let interrupts = 0;
const onSignal = (why: string) => {
  interrupts += 1;
  if (interrupts === 1) {
    interrupt.abort(new InterruptedError(why));
    return;
  }
  // A second Ctrl-C means "now": skip draining.
  process.stderr.write('\ninterrupted again: exiting without draining\n');
  // biome-ignore lint/nursery/noProcessExit: the user asked twice; draining is what they are skipping
  process.exit(ExitCode.interrupted);
};
// SIGTERM counts as the first Ctrl-C (a check file still runs its compensations); a second signal exits.
process.on('SIGINT', () => onSignal('interrupted (Ctrl-C)'));
process.on('SIGTERM', () => onSignal('terminated (SIGTERM)'));
// `comms-cli ... | head -1` closes stdout early: the reader has what it wanted, so stop the work
// (abort, drain) and exit 0 quietly, as `yes | head -1` users expect, instead of crashing with EPIPE.
let stdoutClosed = false;
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EPIPE') return;
  stdoutClosed = true;
  interrupt.abort(new InterruptedError('stdout closed', { code: STDOUT_CLOSED }));
});

/** Output for errors that happen before (or outside) a command's own output: flags read off argv. */
function errorOutputFor(argv: readonly string[], io: RunIo): Output {
  return new Output(
    {
      ...DEFAULT_OUTPUT,
      debug: argv.includes('--debug') || ['1', 'true'].includes(process.env.COMMS_DEBUG ?? ''),
      ...(argv.includes('--no-color') ? { color: false } : {}),
    },
    io.stdout ?? process.stdout,
    io.stderr ?? process.stderr,
  );
}

/**
 * Run one command line (without the program name) and return its exit code: parse, run the chosen
 * command, map any error to the contract's exit code. The top level and `ctx.run` (demo, check
 * files) share it, so a command behaves the same however it is started.
 */
async function execute(argv: readonly string[], io: RunIo = {}): Promise<number> {
  const state = { exit: ExitCode.ok as number };
  const errorOutput = errorOutputFor(argv, io);
  const signal = io.signal ?? interrupt.signal;
  /**
   * With --json, a run that fails before any result (bad flag, bad URL, unreadable file) still puts one
   * object on stdout, so `... --json | jq` always has something to read.
   */
  const jsonError = async (err: CommsError): Promise<void> => {
    if (!argv.includes('--json')) return;
    await errorOutput.json({ ok: false, exit: exitCodeForKind(err.kind), error: err.toJSON() });
  };
  const program = await buildProgram(
    {
      signal,
      // Read on use: process.stdin builds a stream for whatever fd 0 is (for a file, node:fs's
      // streams and fs/promises: ~15 ms), which most commands never read.
      get stdin() {
        return process.stdin;
      },
      stdout: io.stdout ?? process.stdout,
      stderr: io.stderr ?? process.stderr,
      setExit: (code: number) => {
        state.exit = code;
      },
      run: execute,
      ...(io.ready ? { ready: io.ready } : {}),
    },
    argv[0],
  );
  // Bare `comms-cli` prints its help on stdout and exits 0, as git does (help asked for, implicitly).
  if (argv.length === 0) {
    program.outputHelp();
    return ExitCode.ok;
  }
  const unknown = unknownCommand(program, argv);
  // A word that is no command at all is left to commander (it suggests the nearest name).
  if (unknown && unknown.matches.length > 0) {
    // `comms-cli sub`: not a top-level command, but the short alias of one that is (`subscribe`,
    // itself `nats subscribe`): run (or show the help of) that command, never the top-level help.
    const topLevel = new Set(
      unknown.matches
        .map((m) => m.command.name())
        .filter((name) => program.commands.some((c) => c.name() === name)),
    );
    const [only] = topLevel;
    if (topLevel.size === 1 && only !== undefined) return execute([only, ...argv.slice(1)]);
    const asksHelp = argv.includes('--help') || argv.includes('-h');
    if (asksHelp && unknown.matches.length === 1 && unknown.matches[0]) {
      unknown.matches[0].command.outputHelp();
      return ExitCode.ok;
    }
    const names = unknown.matches.map((m) => `'comms-cli ${m.path}'`);
    const err = new UsageError(`unknown command '${unknown.word}'`, {
      hint: `did you mean ${names.join(' or ')}?`,
    });
    errorOutput.error(err);
    await jsonError(err);
    return ExitCode.usage;
  }
  try {
    const parse = () => program.parseAsync([...argv], { from: 'user' });
    if (io.breakers) {
      // The caller's breakers (a check's) follow the command's async context into every pipeline it builds.
      const { inBreakerScope } = await import('../core/breaker-scope.js');
      await inBreakerScope(io.breakers, parse);
    } else await parse();
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
      signal.aborted && !(err instanceof UsageError)
        ? toCommsError(err, undefined, signal)
        : toCommsError(err);
    errorOutput.error(typed, err instanceof Error ? err.stack : undefined);
    await jsonError(typed);
    return exitCodeForKind(typed.kind);
  }
}

/**
 * The first word when it names no top-level command (nor an alias of one), with the nested commands
 * it does name (`sub` -> `nats subscribe`, `mqtt subscribe`). Undefined when it is a command, or the
 * line starts with an option.
 */
function unknownCommand(
  program: Command,
  argv: readonly string[],
): { word: string; matches: Array<{ path: string; command: Command }> } | undefined {
  const word = argv[0];
  if (word === undefined || word.startsWith('-') || word === 'help') return undefined;
  if (program.commands.some((c) => c.name() === word || c.aliases().includes(word))) return undefined;
  const matches: Array<{ path: string; command: Command }> = [];
  for (const parent of program.commands)
    for (const sub of parent.commands)
      if (sub.name() === word || sub.aliases().includes(word))
        matches.push({ path: `${parent.name()} ${word}`, command: sub });
  return { word, matches };
}

// A promise chain rather than top-level await: the same module is also bundled as a CommonJS
// script (loaded with a V8 code cache by dist/bundle/main.cjs, see scripts/bundle.mjs).
void execute(process.argv.slice(2)).then((code) => {
  process.exitCode = stdoutClosed ? ExitCode.ok : code;
  // After the verdict the process ends promptly, whatever a peer left open: a socket stuck in a connect
  // or a TLS handshake, a NATS server that never sent INFO. Commands close what they own before they
  // return; this only catches what a library could not close. The timer is unref'd, so a process with
  // nothing left open exits at once without waiting for it.
  setTimeout(() => {
    // biome-ignore lint/nursery/noProcessExit: the verdict is out; a peer's half-open socket must not hold the process
    process.exit();
  }, EXIT_GRACE_MS).unref();
});
