import type { Command } from 'commander';
import type { CommandContext } from '../../command/context.js';
import { addOptions, OUTPUT_OPTIONS, type OutputFlags } from '../options.js';

export interface ServeHttpFlags extends OutputFlags {
  port: string;
  host: string;
  failRate?: string;
  failStatus?: string;
  delay?: string;
  jitter?: string;
}

/** `comms-cli serve http`: the fault-injecting HTTP test server. */
export function registerServeHttp(
  serve: Command,
  ctx: CommandContext,
  setExit: (code: number) => void,
): void {
  const cmd = serve
    .command('http')
    .description(
      'local HTTP test server: /echo /status/:code /delay/:dur /flaky/:n /bytes/:n /drop /redirect/:n /gzip /json',
    )
    .option('--port <port>', 'port to listen on (0 = random; the URL is printed on stdout first)', '0')
    .option('--host <host>', 'address to bind', '127.0.0.1')
    .option('--fail-rate <fraction>', 'answer this fraction of requests (0..1) with --fail-status')
    .option('--fail-status <code>', 'status for injected failures', '503')
    .option('--delay <dur>', 'add this latency to every request')
    .option('--jitter <dur>', 'add up to this much random extra latency')
    .addHelpText(
      'after',
      `
Examples:
  $ comms-cli serve http --port 8080
  $ comms-cli serve http --fail-rate 0.3 --fail-status 503 --delay 50ms --jitter 20ms
  $ comms-cli serve http > url.txt & sleep 1; read URL < url.txt   # random port: the URL is on stdout`,
    )
    .action(async (flags: ServeHttpFlags) => {
      const { runServeHttp } = await import('../../servers/http/serve-command.js');
      setExit(await runServeHttp(flags, ctx));
    });
  addOptions(cmd, OUTPUT_OPTIONS);
}
