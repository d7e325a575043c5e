import type { ServiceError } from '@grpc/grpc-js';
import type { CommandContext } from '../../../command/context.js';
import { warmUpCall } from '../../../command/run-call-command.js';
import { outputFrom } from '../../../command/shared-options.js';
import { failResult } from '../../../core/result.js';
import { CallPipeline, DEFAULT_RESILIENCE } from '../../../core/run-call.js';
import { abortReasonToError } from '../../../errors/classify.js';
import {
  type CommsError,
  ConnectError,
  ResponseError,
  TimeoutError,
  UsageError,
} from '../../../errors/comms-error.js';
import { ExitCode, exitCodeForKind } from '../../../errors/exit-codes.js';
import { reportResult } from '../../../output/human.js';
import { Output, type OutputOptions } from '../../../output/output.js';
import { GrpcTransport } from '../adapter.js';
import type { GrpcCall } from '../call.js';
import { DEFAULT_RETRY_ON } from '../classify.js';
import type { GrpcConnection } from '../connection.js';
import { connectErrorFrom } from '../errors.js';
import type { GrpcHealthValues } from '../flags.js';
import { loadShippedProto, resolveMethod } from '../schema.js';
import { endpointFrom, type GrpcEndpoint, metadataPairs, openConnection } from './common.js';

const identity = (b: Buffer): Buffer => b;

/** `grpc health`, parsed and checked once from its options. */
export interface GrpcHealthPlan {
  readonly endpoint: GrpcEndpoint;
  /** Absent: the whole server (''). */
  readonly service: string | undefined;
  readonly metadata: ReadonlyArray<[string, string]>;
  readonly timeoutMs: number;
  readonly watch: boolean;
  /** With --watch: stop after this many statuses. */
  readonly count: number | undefined;
  readonly output: OutputOptions;
}

export function grpcHealthPlanFrom(
  targetText: string,
  service: string | undefined,
  values: GrpcHealthValues,
): GrpcHealthPlan {
  const output = outputFrom(values);
  if (values.count !== undefined && !values.watch)
    throw new UsageError('--count only applies with --watch', {
      hint: 'add --watch to follow status changes, or drop --count for one check',
    });
  return {
    output,
    service,
    timeoutMs: values.timeout,
    watch: values.watch,
    count: values.count,
    metadata: metadataPairs(values.header),
    endpoint: endpointFrom(targetText, values),
  };
}

/**
 * `grpc health <target> [service]`: grpc.health.v1 Check (exit 0 SERVING, 1 otherwise, 3 unreachable,
 * 4 timeout), or with --watch the Watch stream, one status per line until Ctrl-C or --count.
 */
export async function runGrpcHealth(plan: GrpcHealthPlan, ctx: CommandContext): Promise<number> {
  const { service, timeoutMs } = plan;
  const output = new Output(plan.output, ctx.stdout, ctx.stderr);
  const conn = await openConnection(plan.endpoint);
  try {
    const root = await loadShippedProto('grpc/health/v1/health.proto');
    const check = resolveMethod(root, 'grpc.health.v1.Health/Check');
    const request = Buffer.from(
      check.requestType.encode(check.requestType.fromObject({ service: service ?? '' })).finish(),
    );
    const metadata = conn.metadataFrom(plan.metadata);
    if (plan.watch) return await watch(conn, root, request, service ?? '', plan, output, ctx.signal);

    const resilience = { ...DEFAULT_RESILIENCE, timeoutMs };
    const pipeline = new CallPipeline(resilience, ctx.signal);
    const call: GrpcCall = {
      target: conn.target.display,
      operation: 'grpc.health.v1.Health/Check',
      method: check,
      metadata,
      requests: () => [request],
      retryOn: new Set(DEFAULT_RETRY_ON),
    };
    // As `grpc call` measures it: grpc-js' and protobufjs' first-use costs are paid before the clock
    // (issue: health's timing was 30-60 ms where `grpc call ... Health/Check` said 5-15 ms).
    const transport = new GrpcTransport(conn, { deadlineMs: timeoutMs, emitDefaults: true, method: check });
    await warmUpCall(transport, call, resilience, ctx.signal);
    const { result, reply } = await pipeline.run(transport, call);
    const serving = (reply?.messages[0] as { status?: string } | undefined)?.status;
    result.service = service ?? '';
    if (reply?.status === 'NOT_FOUND') result.servingStatus = 'SERVICE_UNKNOWN';
    else if (serving !== undefined) result.servingStatus = serving;
    if (result.ok && serving !== 'SERVING')
      failResult(
        result,
        new ResponseError(`${service ? `service '${service}'` : 'server'} is ${serving ?? 'UNKNOWN'}`),
      );
    if (reply?.status === 'NOT_FOUND')
      failResult(
        result,
        new ResponseError(`service '${service ?? ''}' is unknown to the health service (SERVICE_UNKNOWN)`),
      );
    if (reply?.status === 'UNIMPLEMENTED') {
      failResult(
        result,
        new ResponseError(`${conn.target.display} does not implement grpc.health.v1`, {
          hint: 'the server has no health service; try a call instead',
        }),
      );
    }
    if (output.options.json) await output.json(result);
    else {
      if (result.servingStatus !== undefined) await output.data(`${String(result.servingStatus)}\n`);
      reportResult(
        output,
        result,
        String(result.servingStatus ?? result.status ?? result.error?.kind ?? 'failed'),
      );
    }
    if (result.error) output.error(result.error);
    return result.exit;
  } finally {
    conn.close();
  }
}

async function watch(
  conn: GrpcConnection,
  root: Awaited<ReturnType<typeof loadShippedProto>>,
  request: Buffer,
  service: string,
  { metadata: pairs, count, timeoutMs }: GrpcHealthPlan,
  output: Output,
  signal: AbortSignal,
): Promise<number> {
  const responseType = root.lookupType('grpc.health.v1.HealthCheckResponse');
  const statusEnum = root.lookupEnum('grpc.health.v1.HealthCheckResponse.ServingStatus');
  const metadata = conn.metadataFrom(pairs);
  let last: string | undefined;
  let seen = 0;
  const failure = await new Promise<CommsError | undefined>((resolve) => {
    const stream = conn.client.makeServerStreamRequest(
      '/grpc.health.v1.Health/Watch',
      identity,
      identity,
      request,
      metadata,
      {},
    );
    let done = false;
    const finish = (err: CommsError | undefined) => {
      if (done) return;
      done = true;
      clearTimeout(firstTimer);
      signal.removeEventListener('abort', onAbort);
      stream.cancel();
      resolve(err);
    };
    // --timeout bounds the wait for the first status; after that the watch lasts until stopped.
    const firstTimer = setTimeout(
      () => finish(new TimeoutError(`no health status from ${conn.target.display} within --timeout`)),
      timeoutMs,
    );
    const onAbort = () => finish(abortReasonToError(signal.reason));
    signal.addEventListener('abort', onAbort, { once: true });
    stream.on('data', (b: Buffer) => {
      clearTimeout(firstTimer);
      const msg = responseType.decode(b) as unknown as { status?: number };
      last = statusEnum.valuesById[msg.status ?? 0] ?? String(msg.status);
      seen += 1;
      if (output.options.json)
        void output.json({ type: 'status', service, status: last, time: new Date().toISOString() });
      else {
        void output.data(`${last}\n`);
        output.info(output.c.dim(`${new Date().toISOString()} ${service || '(server)'} ${last}`));
      }
      if (count !== undefined && seen >= count) finish(undefined);
    });
    stream.on('error', (err: ServiceError) => {
      const { status } = conn.grpc;
      if (err.code === status.CANCELLED && done) return;
      // CANCELLED that we did not ask for: the server went away (shut down, connection closed).
      if (err.code === status.UNAVAILABLE || err.code === status.CANCELLED) {
        const e =
          err.code === status.UNAVAILABLE
            ? connectErrorFrom(err.details, conn.target.display, {
                clientCert: conn.clientCert,
                tls: conn.tls,
              })
            : new ConnectError(`lost connection to ${conn.target.display}: ${err.details}`);
        finish(seen ? new ConnectError(`lost connection to ${conn.target.display}: ${err.details}`) : e);
      } else if (err.code === status.UNIMPLEMENTED) {
        finish(new ResponseError(`${conn.target.display} does not implement grpc.health.v1 Watch`));
      } else finish(new ResponseError(`health watch ended: ${err.details || err.message}`));
    });
    stream.on('end', () => finish(undefined));
  });
  if (failure) {
    output.error(failure);
    return exitCodeForKind(failure.kind);
  }
  return last === 'SERVING' ? ExitCode.ok : ExitCode.failed;
}
