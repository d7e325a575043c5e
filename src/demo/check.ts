import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../core/package-root.js';
import { startGrpcServer } from '../servers/grpc/server.js';
import { startHttpServer } from '../servers/http/server.js';
import { findNatsServer, type RunningNatsServer, startNatsServer } from '../servers/nats/launcher.js';
import type { DemoPart } from './context.js';

/**
 * The check-file tour: `comms-cli check` on the shipped examples/, against embedded servers on random
 * loopback ports (their addresses go in as --var, as a CI job would pass them). The HTTP-only example
 * always runs; the multi-protocol smoke and the Saga (which fails on purpose, exit 1, after its
 * compensation ran) need a nats-server, as the NATS part does.
 */
export const checkDemo: DemoPart = async (ctx) => {
  const examples = join(packageRoot(), 'examples');
  if (!existsSync(join(examples, 'poll-until.check.yaml'))) {
    ctx.skip(`no examples/ folder in ${packageRoot()}`);
    return;
  }
  const file = (name: string) => join(examples, name);
  await ctx.step('Validate every example file: schema, step options, templates; nothing sent', 0, () =>
    ctx.command(['check', examples, '--dry-run']),
  );
  const http = await startHttpServer();
  const grpc = await startGrpcServer();
  let nats: RunningNatsServer | undefined;
  try {
    ctx.out.info(ctx.out.c.dim(`embedded servers: ${http.url}, gRPC ${grpc.address}`));
    const api = ['--var', `api=${http.url}`];
    await ctx.step('Poll until a flaky job answers 200 (until / every / within), every step shown', 0, () =>
      ctx.command(['check', file('poll-until.check.yaml'), ...api, '-v']),
    );
    const bin = findNatsServer();
    if (!bin) {
      ctx.skip('no nats-server binary found: the smoke and Saga examples need one (set NATS_SERVER_BIN)');
      return;
    }
    nats = await startNatsServer({ bin });
    const vars = [...api, '--var', `grpc=${grpc.address}`, '--var', `bus=${nats.url}`];
    await ctx.step('Smoke: HTTP health (an include), gRPC health and a call, a NATS publish', 0, () =>
      ctx.command(['check', file('smoke.check.yaml'), ...vars]),
    );
    await ctx.step('A Saga whose payment fails: the reservation is compensated, finally checks it', 1, () =>
      ctx.command(['check', file('saga.check.yaml'), ...vars]),
    );
  } finally {
    await Promise.allSettled([http.close(), grpc.close(), nats?.stop()]);
  }
};
