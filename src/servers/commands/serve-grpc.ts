import { readFile } from 'node:fs/promises';
import type { CommandContext } from '../../command/context.js';
import { outputFrom } from '../../command/shared-options.js';
import { UsageError } from '../../errors/comms-error.js';
import { ExitCode } from '../../errors/exit-codes.js';
import { Output } from '../../output/output.js';
import { statusCodeOf } from '../../transports/grpc/status-codes.js';
import type { ServeGrpcValues } from '../flags.js';
import { type GrpcServerOptions, startGrpcServer } from '../grpc/server.js';
import { generateCerts } from '../tls/certs.js';

/** Run `serve grpc` until Ctrl-C: host:port on stdout first (for scripts), a call log on stderr. */
export async function runServeGrpc(values: ServeGrpcValues, ctx: CommandContext): Promise<number> {
  const out = new Output(outputFrom(values), ctx.stdout, ctx.stderr);
  const { port, failRate } = values;
  const failCode = statusCodeOf(values.failCode);
  if (failCode === undefined || failCode === 0) {
    throw new UsageError(`invalid --fail-code '${values.failCode}'`, {
      hint: 'a non-OK status name (UNAVAILABLE, INTERNAL...) or number 1-16',
    });
  }
  const delayMs = values.delay;
  const options: GrpcServerOptions = {
    host: values.host,
    port,
    failCode,
    ...(failRate !== undefined ? { failRate } : {}),
    ...(delayMs !== undefined ? { delayMs } : {}),
    reflection: values.reflection,
    onCall: (line) => {
      if (out.options.json) void out.json({ type: 'call', time: new Date().toISOString(), call: line });
      else out.info(`${out.c.dim(new Date().toISOString())} ${line}`);
    },
  };
  let certs: Awaited<ReturnType<typeof generateCerts>> | undefined;
  if (values.tls || values.mtls) {
    certs = await generateCerts();
    const [cert, key, ca] = await Promise.all([
      readFile(certs.serverCert),
      readFile(certs.serverKey),
      readFile(certs.caCert),
    ]);
    options.tls = { cert, key, ca, requireClientCert: values.mtls === true };
  }
  const server = await startGrpcServer(options);
  await out.data(`${server.address}\n`);
  const scheme = certs ? (values.mtls ? 'mutual TLS' : 'TLS') : 'plaintext';
  out.info(
    `serving gRPC (${scheme}) on ${server.address}: inventory.Inventory, grpc.health.v1${options.reflection ? ', reflection' : ''} (Ctrl-C to stop)`,
  );
  if (certs) {
    // Always shown (even with -q/--json): without the CA path the server cannot be used.
    out.err.write(`CA certificate: ${certs.caCert}\n`);
    if (values.mtls)
      out.err.write(`client certificate: ${certs.clientCert}\nclient key: ${certs.clientKey}\n`);
  }
  await new Promise<void>((resolve) => {
    if (ctx.signal.aborted) resolve();
    else ctx.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  await server.close();
  out.info('server stopped');
  return ExitCode.interrupted;
}
