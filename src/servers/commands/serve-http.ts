import type { CommandContext } from '../../command/context.js';
import { outputFrom } from '../../command/shared-options.js';
import { UsageError } from '../../errors/comms-error.js';
import { ExitCode } from '../../errors/exit-codes.js';
import { Output } from '../../output/output.js';
import type { ServeHttpValues } from '../flags.js';
import { startHttpServer } from '../http/server.js';

/** Run `serve http` until Ctrl-C: URL on stdout first (for scripts), a request log on stderr. */
export async function runServeHttp(values: ServeHttpValues, ctx: CommandContext): Promise<number> {
  const out = new Output(outputFrom(values), ctx.stdout, ctx.stderr);
  const { port, host, failRate, failStatus } = values;
  let server: Awaited<ReturnType<typeof startHttpServer>>;
  try {
    server = await startHttpServer({
      host,
      port,
      ...(failRate !== undefined ? { failRate } : {}),
      failStatus,
      ...optionalMs('delayMs', values.delay),
      ...optionalMs('jitterMs', values.jitter),
      onRequest: (r) => {
        if (out.options.json) void out.json({ type: 'request', ...r, ms: Math.round(r.ms * 1000) / 1000 });
        else
          out.info(
            `${out.c.dim(new Date().toISOString())} ${r.method} ${r.path} ${r.status >= 400 ? out.c.red(String(r.status)) : out.c.green(String(r.status))} ${out.ms(r.ms)}`,
          );
      },
    });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE')
      throw new UsageError(`port ${port} on ${host} is already in use`, {
        hint: 'use --port 0 for a random free port',
      });
    if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND')
      throw new UsageError(`cannot bind --host '${host}'`);
    throw err;
  }
  await out.data(`${server.url}\n`);
  out.info(`serving HTTP on ${server.url} (Ctrl-C to stop) — endpoints listed at ${server.url}/`);
  await new Promise<void>((resolve) => {
    if (ctx.signal.aborted) resolve();
    else ctx.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  await server.close();
  out.info('server stopped');
  return ExitCode.interrupted;
}

function optionalMs<K extends string>(key: K, value: number | undefined): Partial<Record<K, number>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, number>);
}
