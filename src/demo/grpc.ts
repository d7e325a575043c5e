import { startGrpcServer } from '../servers/grpc/server.js';
import type { DemoPart } from './context.js';

/**
 * The gRPC tour: real `comms-cli grpc call` command lines, run in this process, against the embedded
 * Inventory server on a random loopback port, schema from server reflection.
 */
export const grpcDemo: DemoPart = async (ctx) => {
  const server = await startGrpcServer();
  const call = (...args: string[]) => ctx.command(['grpc', 'call', server.address, ...args]);
  try {
    ctx.out.info(ctx.out.c.dim(`embedded server: ${server.address} (reflection, health)`));
    await ctx.step('A unary call, schema from server reflection', 0, () =>
      call('inventory.Inventory/GetItem', '-d', '{"sku":"A1"}', '-v'),
    );
    await ctx.step('Server streaming: each item printed as it arrives', 0, () =>
      call('inventory.Inventory/ListItems', '-d', '{"category":"TOOLS"}', '--json'),
    );
    await ctx.step('UNAVAILABLE twice (x-fail-times: 2), then success on the third attempt', 0, () =>
      call(
        'inventory.Inventory/GetItem',
        '-d',
        '{"sku":"C1"}',
        '-H',
        'x-fail-times: 2',
        '-H',
        'x-key: demo',
        '--retries',
        '3',
        '--backoff',
        '100ms',
      ),
    );
    await ctx.step('A slow answer (x-delay: 2s) against a 300ms deadline', 4, () =>
      call('inventory.Inventory/GetItem', '-d', '{"sku":"A1"}', '-H', 'x-delay: 2s', '--timeout', '300ms'),
    );
  } finally {
    await server.close(200);
  }
};
