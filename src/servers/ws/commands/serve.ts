import type { CommandContext } from '../../../command/context.js';
import { outputFrom } from '../../../command/shared-options.js';
import { UsageError } from '../../../errors/comms-error.js';
import { ExitCode } from '../../../errors/exit-codes.js';
import { Output } from '../../../output/output.js';
import type { ServeWsValues } from '../flags.js';
import { startWsServer } from '../server.js';

/** Run `serve ws` until Ctrl-C: URL on stdout first (for scripts), a connection log on stderr. */
export async function runServeWs(values: ServeWsValues, ctx: CommandContext): Promise<number> {
  const out = new Output(outputFrom(values), ctx.stdout, ctx.stderr);
  let server: Awaited<ReturnType<typeof startWsServer>>;
  try {
    server = await startWsServer({
      host: values.host,
      port: values.port,
      ...(values.delay !== undefined ? { delayMs: values.delay } : {}),
      ...(values.dropAfter !== undefined ? { dropAfter: values.dropAfter } : {}),
      ...(values.closeCode !== undefined ? { closeCode: values.closeCode } : {}),
      ...(values.refuse !== undefined ? { refuse: values.refuse } : {}),
      onEvent: (e) => {
        if (out.options.json) void out.json({ type: 'connection', ...e });
        else
          out.info(
            `${out.c.dim(new Date().toISOString())} ${e.event} ${e.path}${e.code !== undefined ? ` ${e.code}` : ''}${e.status !== undefined ? ` ${e.status}` : ''}`,
          );
      },
    });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE')
      throw new UsageError(`port ${values.port} on ${values.host} is already in use`, {
        hint: 'use --port 0 for a random free port',
      });
    if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND')
      throw new UsageError(`cannot bind --host '${values.host}'`);
    throw err;
  }
  await out.data(`${server.url}\n`);
  out.info(`serving WebSocket on ${server.url} (Ctrl-C to stop): /echo /broadcast /ticker?every=100ms`);
  await new Promise<void>((resolve) => {
    if (ctx.signal.aborted) resolve();
    else ctx.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  await server.close();
  out.info('server stopped');
  return ExitCode.interrupted;
}
