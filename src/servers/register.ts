import type { Command } from 'commander';
import type { CommandContext } from '../command/context.js';
import { addOptions, readOptions } from '../command/option.js';
import { SERVE_GRPC_OPTIONS, SERVE_HTTP_OPTIONS } from './flags.js';
import { registerServeWs } from './ws/register.js';

/**
 * `comms-cli serve <http|grpc>`: local fault-injecting test servers. Declarations only; each action
 * imports its server when it runs, so `serve http` never loads gRPC code.
 */
export function register(program: Command, ctx: CommandContext): void {
  const serve = program
    .command('serve')
    .description('start a local fault-injecting test server (http, grpc or ws)')
    .addHelpText(
      'after',
      `
Examples:
  $ comms-cli serve http --port 8080 --fail-rate 0.3
  $ comms-cli serve grpc --port 50051 --delay 50ms`,
    );

  const http = serve
    .command('http')
    .description(
      'local HTTP test server: /echo /status/:code /delay/:dur /flaky/:n /bytes/:n /drop /redirect/:n /gzip /json',
    )
    .addHelpText(
      'after',
      `
Examples:
  $ comms-cli serve http --port 8080
  $ comms-cli serve http --fail-rate 30% --fail-status 503 --delay 50ms --jitter 20ms
  $ comms-cli serve http > url.txt & sleep 1; read URL < url.txt   # random port: the URL is on stdout`,
    )
    .action(async (_opts: unknown, self: Command) => {
      const values = readOptions(SERVE_HTTP_OPTIONS, self.opts());
      const { runServeHttp } = await import('./commands/serve-http.js');
      ctx.setExit(await runServeHttp(values, ctx));
    });
  addOptions(http, SERVE_HTTP_OPTIONS);

  const grpc = serve
    .command('grpc')
    .description(
      'local gRPC test server: inventory.Inventory (all four call kinds), grpc.health.v1, reflection, faults',
    )
    .addHelpText(
      'after',
      `
Examples:
  $ comms-cli serve grpc --port 50051
  $ comms-cli serve grpc --fail-rate 0.3 --fail-code UNAVAILABLE --delay 20ms
  $ comms-cli serve grpc --tls     # then: comms-cli grpc call --cacert <CA path> 127.0.0.1:PORT ...

Per call, request metadata asks for a fault: x-fail: CODE, x-delay: 200ms, x-fail-times: N with
x-key: K (fail the first N calls with that key), x-retry-after: 300ms (adds google.rpc.RetryInfo).`,
    )
    .action(async (_opts: unknown, self: Command) => {
      const values = readOptions(SERVE_GRPC_OPTIONS, self.opts());
      const { runServeGrpc } = await import('./commands/serve-grpc.js');
      ctx.setExit(await runServeGrpc(values, ctx));
    });
  addOptions(grpc, SERVE_GRPC_OPTIONS);
  registerServeWs(serve, ctx);
}
