import { findNatsServer, type RunningNatsServer, startNatsServer } from '../servers/nats/launcher.js';
import type { DemoContext, DemoPart } from './context.js';

/**
 * The NATS tour: real `comms-cli nats ...` command lines, run in this process, against a private
 * nats-server (random loopback port, JetStream in a temp dir). Subscribers and responders are
 * commands too, started in the background and awaited once the step's foreground command is done.
 */
export const natsDemo: DemoPart = async (ctx) => {
  const out = ctx.out;
  const bin = findNatsServer();
  if (!bin) {
    ctx.skip(
      'no nats-server binary found (set NATS_SERVER_BIN, or install nats-server); the NATS part needs one to start a private server',
    );
    return;
  }
  let server: RunningNatsServer;
  try {
    server = await startNatsServer({ bin, monitor: true });
  } catch (err) {
    ctx.skip((err as Error).message);
    return;
  }
  const s = ['-s', server.url];
  const nats = (...argv: string[]) => ctx.command(['nats', ...argv, ...s]);
  try {
    out.info(out.c.dim(`private nats-server: ${server.url} (JetStream on)`));
    await ctx.step('Publish two messages; a subscriber prints them as they arrive', 0, async () => {
      const sub = nats('subscribe', 'demo.orders.*', '--count', '2', '--timeout', '5s');
      const ready = await listening(ctx, server, 'demo.orders.*');
      const pub = ready
        ? await nats(
            'publish',
            'demo.orders.{{seq}}',
            '{"order":{{seq}}}',
            '--count',
            '2',
            '-H',
            'Trace-Id: t{{seq}}',
          )
        : 1;
      return Math.max(pub, await sub);
    });
    await ctx.step('Request/reply against an echo responder (nats reply), with timing', 0, () =>
      withResponder(ctx, server, 'demo.echo', ['--count', '1'], () =>
        nats('request', 'demo.echo', 'ping', '-v'),
      ),
    );
    await ctx.step('A responder drops the first request: the retry gets the reply', 0, () =>
      withResponder(ctx, server, 'demo.flaky', ['--fail-first', '1', '--count', '1'], () =>
        nats('request', 'demo.flaky', 'hello', '--timeout', '300ms', '--retries', '2', '--backoff', '50ms'),
      ),
    );
    await ctx.step('Nobody listens: no responders, exit 3', 3, () =>
      nats('request', 'demo.nobody', 'anyone?'),
    );
    await ctx.step('JetStream: the same --msg-id published twice is stored once', 0, async () => {
      const publish = () =>
        nats('publish', 'demo.pay', 'charge-42', '--jetstream', '--stream', 'DEMO', '--msg-id', 'charge-42');
      const first = await publish();
      return Math.max(first, await publish());
    });
  } finally {
    await server.stop();
  }
};

/** Wait until the server has the background command's subscription; false when it never came. */
async function listening(ctx: DemoContext, server: RunningNatsServer, subject: string): Promise<boolean> {
  try {
    await server.waitForSubscription(subject, { signal: ctx.signal });
    return true;
  } catch (err) {
    ctx.out.err.write(`  ${ctx.out.c.red('✗')} ${(err as Error).message}\n`);
    return false;
  }
}

/**
 * Run `nats reply SUBJECT ...` in the background, then `request` once it listens, and return the
 * worse of the two exit codes. The responder ends by itself (--count); should the request never
 * reach it (the step failed), one more request releases it, so the demo cannot hang.
 */
async function withResponder(
  ctx: DemoContext,
  server: RunningNatsServer,
  subject: string,
  replyArgs: readonly string[],
  request: () => Promise<number>,
): Promise<number> {
  const s = ['-s', server.url];
  const responder = ctx.command(['nats', 'reply', subject, ...replyArgs, ...s]);
  const exit = (await listening(ctx, server, subject)) ? await request() : 1;
  let done = false;
  void responder.finally(() => {
    done = true;
  });
  // Normally done at once (it answered its --count); the wait is generous for a loaded machine.
  for (let i = 0; i < 3 && !done && !ctx.signal.aborted; i++) {
    await Promise.race([responder, new Promise((resolve) => setTimeout(resolve, 5_000).unref())]);
    if (!done) await ctx.command(['nats', 'request', subject, 'release', '-q', '--retries', '3', ...s]);
  }
  return Math.max(exit, await responder);
}
