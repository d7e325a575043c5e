import { type CliProcess, startCli } from './spawn-cli.js';

/**
 * Start `comms-cli nats subscribe ARGS -s URL -v` and wait until the server has its interest (the -v
 * "listening on" line), so a publish right after is not lost.
 */
export async function natsSubscriber(serverUrl: string, args: string[]): Promise<CliProcess> {
  const p = startCli(['nats', 'subscribe', ...args, '-s', serverUrl, '-v']);
  await p.waitFor(/listening on/, 'stderr');
  return p;
}

/** Start `comms-cli nats reply ARGS -s URL` and wait until it is answering. */
export async function natsResponder(serverUrl: string, args: string[]): Promise<CliProcess> {
  const p = startCli(['nats', 'reply', ...args, '-s', serverUrl]);
  await p.waitFor(/replying on/, 'stderr');
  return p;
}
