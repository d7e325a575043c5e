import { readFile } from 'node:fs/promises';
import type { ServeGrpcFlags } from '../../cli/commands/serve-grpc.js';
import { outputFrom, parseCount, parseNumber, parseOptionalDuration } from '../../cli/options.js';
import type { CommandContext } from '../../command/context.js';
import { UsageError } from '../../errors/comms-error.js';
import { ExitCode } from '../../errors/exit-codes.js';
import { Output } from '../../output/output.js';
import { statusCodeOf } from '../../transports/grpc/status-codes.js';
import { type GrpcServerOptions, startGrpcServer } from './server.js';
import { generateCerts } from './tls.js';

/** Run `serve grpc` until Ctrl-C: host:port on stdout first (for scripts), a call log on stderr. */
export async function runServeGrpc(flags: ServeGrpcFlags, ctx: CommandContext): Promise<number> {
  const out = new Output(outputFrom(flags));
  const port = parseCount(flags.port, '--port');
  if (port === undefined || port > 65535) throw new UsageError(`invalid --port '${flags.port}'`);
  const failRate = parseNumber(flags.failRate, '--fail-rate');
  if (failRate !== undefined && failRate > 1)
    throw new UsageError(`invalid --fail-rate '${flags.failRate}': expected a fraction 0..1`);
  const failCode = statusCodeOf(flags.failCode);
  if (failCode === undefined || failCode === 0) {
    throw new UsageError(`invalid --fail-code '${flags.failCode}'`, {
      hint: 'a non-OK status name (UNAVAILABLE, INTERNAL...) or number 1-16',
    });
  }
  const delayMs = parseOptionalDuration(flags.delay, '--delay');
  const options: GrpcServerOptions = {
    host: flags.host,
    port,
    failCode,
    ...(failRate !== undefined ? { failRate } : {}),
    ...(delayMs !== undefined ? { delayMs } : {}),
    reflection: flags.reflection !== false,
    onCall: (line) => {
      if (out.options.json) void out.json({ type: 'call', time: new Date().toISOString(), call: line });
      else out.info(`${out.c.dim(new Date().toISOString())} ${line}`);
    },
  };
  let certs: Awaited<ReturnType<typeof generateCerts>> | undefined;
  if (flags.tls || flags.mtls) {
    certs = await generateCerts();
    const [cert, key, ca] = await Promise.all([
      readFile(certs.serverCert),
      readFile(certs.serverKey),
      readFile(certs.caCert),
    ]);
    options.tls = { cert, key, ca, requireClientCert: flags.mtls === true };
  }
  const server = await startGrpcServer(options);
  await out.data(`${server.address}\n`);
  const scheme = certs ? (flags.mtls ? 'mutual TLS' : 'TLS') : 'plaintext';
  out.info(
    `serving gRPC (${scheme}) on ${server.address}: inventory.Inventory, grpc.health.v1${options.reflection ? ', reflection' : ''} (Ctrl-C to stop)`,
  );
  if (certs) {
    // Always shown (even with -q/--json): without the CA path the server cannot be used.
    out.err.write(`CA certificate: ${certs.caCert}\n`);
    if (flags.mtls)
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
