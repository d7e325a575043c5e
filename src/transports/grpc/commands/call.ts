import { createReadStream } from 'node:fs';
import { access } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import type { GrpcCallFlags } from '../../../cli/commands/grpc.js';
import {
  isLoadMode,
  type LoadFlags,
  legacyLoadPlan,
  type OutputFlags,
  outputFrom,
  parseCount,
  type ResilienceFlags,
  resilienceFrom,
} from '../../../cli/options.js';
import type { CommandContext } from '../../../command/context.js';
import { runCallCommand } from '../../../command/run-call-command.js';
import { parseJsonArg, readPayload } from '../../../core/input.js';
import type { CallOutcome } from '../../../core/run-call.js';
import { expandTemplate, hasTemplate } from '../../../core/template.js';
import { UsageError } from '../../../errors/comms-error.js';
import type { ExitCode } from '../../../errors/exit-codes.js';
import { deadlineSignal } from '../../../middleware/timeout.js';
import { reportResult } from '../../../output/human.js';
import { Output } from '../../../output/output.js';
import { type GrpcCall, type GrpcReply, GrpcTransport } from '../adapter.js';
import { DEFAULT_RETRY_ON } from '../classify.js';
import { encodeJson } from '../json-codec.js';
import { parseJsonStream } from '../json-stream.js';
import { type ResolvedMethod, resolveMethod, splitMethodName } from '../schema.js';
import { statusCodeOf } from '../status-codes.js';
import { formatDetail } from '../status-details.js';
import { metadataPairs, openConnection } from './common.js';
import { printMetadata } from './print-metadata.js';
import { fetchSchema } from './schema-step.js';

type Flags = GrpcCallFlags & LoadFlags & ResilienceFlags & OutputFlags;

function parseRetryOn(text: string | undefined): number[] {
  if (!text) return [];
  return text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => {
      const code = statusCodeOf(s);
      if (code === undefined || code === 0) {
        throw new UsageError(`invalid --retry-on code '${s}'`, {
          hint: 'use status names like UNAVAILABLE,RESOURCE_EXHAUSTED or numbers 1-16',
        });
      }
      return code;
    });
}

/** Where a client/bidi stream's request messages come from: -d text, -d @file, -d @- or stdin. */
async function streamSource(
  data: string | undefined,
  ctx: CommandContext,
): Promise<AsyncIterable<string | Buffer>> {
  if (data === undefined || data === '@-') return ctx.stdin;
  if (!data.startsWith('@')) return [data] as unknown as AsyncIterable<string>;
  const path = data.slice(1);
  try {
    await access(path);
  } catch {
    throw new UsageError(`cannot read -d file '${path}': no such file`);
  }
  return createReadStream(path);
}

/** Encode each streamed JSON message as it is parsed; usable once (a stream cannot be replayed). */
async function* encodeStream(
  method: ResolvedMethod,
  source: AsyncIterable<string | Buffer>,
): AsyncGenerator<Buffer> {
  let n = 0;
  for await (const value of parseJsonStream(source, '-d')) {
    n += 1;
    yield encodeJson(method.requestType, value, `request ${n}`);
  }
}

/**
 * `grpc call`: resolve the method from reflection, --proto or --protoset; validate and encode the
 * request before anything is sent; run the call through the shared pipeline (retries, breaker,
 * deadline, load mode); print responses as they arrive.
 */
export async function runGrpcCall(
  targetText: string,
  methodText: string,
  flags: Flags,
  ctx: CommandContext,
): Promise<ExitCode> {
  const output = new Output(outputFrom(flags));
  let resilience = resilienceFrom(flags);
  const { service } = splitMethodName(methodText);
  const retryOn = new Set([...DEFAULT_RETRY_ON, ...parseRetryOn(flags.retryOn)]);
  const pairs = metadataPairs(flags.header);
  const loadMode = isLoadMode(flags);
  await checkInlineJson(flags.data);
  // --connections K spreads load mode over K HTTP/2 connections (one otherwise: gRPC multiplexes).
  const channels = loadMode ? (parseCount(flags.connections, '--connections', { min: 1 }) ?? 1) : 1;
  const conn = await openConnection(targetText, flags, channels);
  // One call: --max-time covers the schema lookup and the call together. Load mode: per call, as ever.
  const started = performance.now();
  const budget = loadMode
    ? { signal: ctx.signal, dispose() {} }
    : deadlineSignal(ctx.signal, resilience.maxTimeMs, '--max-time');
  let handedOver = false;
  let source: AsyncIterable<string | Buffer> | undefined;
  try {
    const metadata = conn.metadataFrom(pairs);
    const schemaStart = performance.now();
    const fetched = await fetchSchema({
      conn,
      flags,
      symbol: service,
      operation: methodText,
      metadata,
      resilience,
      output,
      signal: budget.signal,
    });
    if ('result' in fetched) {
      const { result } = fetched;
      if (output.options.json) await output.json(result);
      else reportResult(output, result, String(result.status ?? result.error?.kind ?? 'failed'));
      if (result.error) output.error(result.error);
      return result.exit;
    }
    const schema = fetched;
    if (!loadMode && resilience.maxTimeMs !== undefined) {
      // The call gets what the lookup left of the budget (the budget signal still bounds it).
      const left = Math.max(1, resilience.maxTimeMs - (performance.now() - started));
      resilience = { ...resilience, maxTimeMs: left };
    }
    const method = resolveMethod(schema.root, methodText);
    output.verbose(
      output.c.dim(
        `schema: ${schema.source}${schema.reflection?.version ? ` (${schema.reflection.version})` : ''} in ${output.ms(performance.now() - schemaStart)} · ${method.name} is ${method.kind}`,
      ),
    );
    const streamsIn = method.kind === 'client streaming' || method.kind === 'bidi streaming';
    const streamsOut = method.kind === 'server streaming' || method.kind === 'bidi streaming';
    if (streamsIn && loadMode)
      throw new UsageError(
        `load mode needs a unary or server-streaming method; ${method.name} is ${method.kind}`,
      );
    if (streamsIn && resilience.retries > 0) {
      output.info(
        output.c.yellow(`note: --retries ignored: a ${method.kind} request stream cannot be replayed`),
      );
      resilience = { ...resilience, retries: 0 };
    }

    let makeRequests: (seq: number) => () => AsyncIterable<Buffer> | Iterable<Buffer>;
    if (streamsIn) {
      source = await streamSource(flags.data, ctx);
      const once = encodeStream(method, source);
      makeRequests = () => () => once;
    } else {
      const text =
        flags.data !== undefined ? (await readPayload(flags.data, '-d', ctx.stdin)).toString('utf8') : '{}';
      const encode = (t: string) =>
        encodeJson(method.requestType, parseJsonArg(t.trim() || '{}', '-d'), 'request');
      const first = encode(text); // bad JSON or unknown fields: exit 2 before anything is sent
      const templated = loadMode && hasTemplate(text);
      makeRequests = (seq) => (templated ? () => [encode(expandTemplate(text, seq))] : () => [first]);
    }

    const onMessage = streamsOut
      ? loadMode
        ? async () => {}
        : async (message: unknown, index: number) => {
            if (output.options.json) await output.json({ type: 'message', seq: index + 1, data: message });
            else await output.data(`${JSON.stringify(message, null, 2)}\n`);
          }
      : undefined;
    const makeCall = (seq: number): GrpcCall => ({
      target: conn.target.display,
      operation: method.name,
      method,
      metadata: conn.metadataFrom(pairs),
      requests: makeRequests(seq),
      retryOn,
      ...(onMessage ? { onMessage } : {}),
    });
    if (pairs.length) printMetadata(output, '>', Object.fromEntries(pairs));

    const transport = new GrpcTransport(conn, {
      deadlineMs: resilience.timeoutMs,
      emitDefaults: flags.emitDefaults === true,
      schema: schema.root,
    });
    handedOver = true;
    return await runCallCommand<GrpcCall, GrpcReply>({
      transport,
      call: makeCall(1),
      makeCall,
      resilience,
      output,
      load: legacyLoadPlan(flags),
      signal: budget.signal,
      replyBytes: (reply) => reply.bytes,
      async renderHuman(outcome: CallOutcome<GrpcReply>) {
        const { result, reply } = outcome;
        if (reply) {
          printMetadata(output, '<', reply.headers);
          printMetadata(output, '<', reply.trailers, 'trailer');
          if (!streamsOut && reply.messages[0] !== undefined)
            await output.data(`${JSON.stringify(reply.messages[0], null, 2)}\n`);
          if (!result.ok)
            for (const d of reply.details) output.info(output.c.dim(`  detail: ${formatDetail(d)}`));
        }
        const count =
          reply && streamsOut
            ? output.c.dim(` · ${reply.received} message${reply.received === 1 ? '' : 's'}`)
            : '';
        reportResult(output, result, `${String(result.status ?? result.error?.kind ?? 'failed')}${count}`);
      },
    });
  } finally {
    budget.dispose();
    if (!handedOver) conn.close();
    // A client/bidi call that ended (e.g. on an error status) while a writer still holds stdin open
    // must not wait for stdin to close.
    if (source && 'destroy' in source) (source as { destroy(): void }).destroy();
  }
}

/**
 * `-d '{bad'` is bad input whatever the method turns out to be: report it (exit 2) before connecting.
 * Only inline text is checked here; @file and stdin are read once, by the call.
 */
async function checkInlineJson(data: string | undefined): Promise<void> {
  if (data === undefined || data.startsWith('@') || data.trim() === '') return;
  for await (const value of parseJsonStream([data] as unknown as AsyncIterable<string>, '-d')) void value;
}
