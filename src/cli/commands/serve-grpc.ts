import type { Command } from 'commander';
import type { CommandContext } from '../../command/context.js';
import { addOptions, OUTPUT_OPTIONS, type OutputFlags } from '../options.js';

export interface ServeGrpcFlags extends OutputFlags {
  port: string;
  host: string;
  failRate?: string;
  failCode: string;
  delay?: string;
  tls?: boolean;
  mtls?: boolean;
  reflection?: boolean;
}

/** `comms-cli serve grpc`: the fault-injecting gRPC test server (Inventory, health, reflection). */
export function registerServeGrpc(
  serve: Command,
  ctx: CommandContext,
  setExit: (code: number) => void,
): void {
  const cmd = serve
    .command('grpc')
    .description(
      'local gRPC test server: inventory.Inventory (all four call kinds), grpc.health.v1, reflection, faults',
    )
    .option('--port <port>', 'port to listen on (0 = random; host:port is printed on stdout first)', '0')
    .option('--host <host>', 'address to bind', '127.0.0.1')
    .option('--fail-rate <fraction>', 'fail this fraction of Inventory calls (0..1) with --fail-code')
    .option('--fail-code <code>', 'status for injected failures (name or number)', 'UNAVAILABLE')
    .option('--delay <dur>', 'add this latency to every Inventory call')
    .option('--tls', 'serve TLS with a generated self-signed CA (its path is printed on stderr)')
    .option('--mtls', 'like --tls, and require client certificates (a client cert/key is generated too)')
    .option('--no-reflection', 'do not offer server reflection')
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
    .action(async (flags: ServeGrpcFlags) => {
      const { runServeGrpc } = await import('../../servers/grpc/serve-command.js');
      setExit(await runServeGrpc(flags, ctx));
    });
  addOptions(cmd, OUTPUT_OPTIONS);
}
