import { startGrpcServer } from '../servers/grpc/server.js';
import { runGrpcCall } from '../transports/grpc/commands/call.js';
import type { DemoPart } from './context.js';

/**
 * The gRPC tour, through the exact code path of `comms-cli grpc call` (runGrpcCall), against the
 * embedded Inventory server on a random loopback port, schema from server reflection.
 */
export const grpcDemo: DemoPart = async (ctx) => {
  const server = await startGrpcServer();
  const cmd = {
    signal: ctx.signal,
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
    setExit: () => {},
    run: async () => 2,
  };
  const base = {
    color: ctx.out.options.color !== false,
    verbose: ctx.out.options.verbose,
    quiet: ctx.out.options.quiet,
  };
  const say = (line: string) =>
    ctx.out.info(`  ${ctx.out.c.dim(`$ comms-cli grpc call ${server.address} ${line}`)}`);
  try {
    ctx.out.info(ctx.out.c.dim(`embedded server: ${server.address} (reflection, health)`));
    await ctx.step('A unary call, schema from server reflection', 0, async () => {
      say(`inventory.Inventory/GetItem -d '{"sku":"A1"}'`);
      return runGrpcCall(
        server.address,
        'inventory.Inventory/GetItem',
        { ...base, data: '{"sku":"A1"}', verbose: true },
        cmd,
      );
    });
    await ctx.step('Server streaming: each item printed as it arrives', 0, async () => {
      say(`inventory.Inventory/ListItems -d '{"category":"TOOLS"}' --json`);
      return runGrpcCall(
        server.address,
        'inventory.Inventory/ListItems',
        { ...base, data: '{"category":"TOOLS"}', json: true },
        cmd,
      );
    });
    await ctx.step('UNAVAILABLE twice (x-fail-times: 2), then success on the third attempt', 0, async () => {
      say(
        `inventory.Inventory/GetItem -d '{"sku":"C1"}' -H 'x-fail-times: 2' -H 'x-key: demo' --retries 3 --backoff 100ms`,
      );
      return runGrpcCall(
        server.address,
        'inventory.Inventory/GetItem',
        {
          ...base,
          data: '{"sku":"C1"}',
          header: ['x-fail-times: 2', 'x-key: demo'],
          retries: '3',
          backoff: '100ms',
        },
        cmd,
      );
    });
    await ctx.step('A slow answer (x-delay: 2s) against a 300ms deadline', 4, async () => {
      say(`inventory.Inventory/GetItem -d '{"sku":"A1"}' -H 'x-delay: 2s' --timeout 300ms`);
      return runGrpcCall(
        server.address,
        'inventory.Inventory/GetItem',
        { ...base, data: '{"sku":"A1"}', header: ['x-delay: 2s'], timeout: '300ms' },
        cmd,
      );
    });
  } finally {
    await server.close(200);
  }
};
