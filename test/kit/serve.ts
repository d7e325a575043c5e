import { type CliProcess, startCli } from './spawn-cli.js';

/** A `comms-cli serve ...` process started for a test, and the address it printed first on stdout. */
export interface ServedProcess {
  proc: CliProcess;
  /** Ctrl-C, then wait for the exit; resolves with the exit code (130 when it stopped cleanly). */
  stop(): Promise<number | null>;
}

async function stopped(proc: CliProcess): Promise<number | null> {
  if (proc.child.exitCode === null && proc.child.signalCode === null) proc.kill('SIGINT');
  return (await proc.exited).code;
}

/**
 * Start `comms-cli serve http [args]` (port 0 unless args name one) and wait for the URL it prints
 * first on stdout: `http://127.0.0.1:PORT`.
 */
export async function serveHttp(args: string[] = []): Promise<ServedProcess & { url: string }> {
  const port = args.includes('--port') ? [] : ['--port', '0'];
  const proc = startCli(['serve', 'http', ...port, ...args]);
  const url = (await proc.waitFor(/^(https?:\/\/\S+)\n/))[1] ?? '';
  return { proc, url, stop: () => stopped(proc) };
}

/**
 * Start `comms-cli serve grpc [args]` (port 0 unless args name one) and wait for the `host:port`
 * it prints first on stdout.
 */
export async function serveGrpc(args: string[] = []): Promise<ServedProcess & { addr: string }> {
  const port = args.includes('--port') ? [] : ['--port', '0'];
  const proc = startCli(['serve', 'grpc', ...port, ...args]);
  const addr = (await proc.waitFor(/^(127\.0\.0\.1:\d+)$/m))[1] ?? '';
  return { proc, addr, stop: () => stopped(proc) };
}
