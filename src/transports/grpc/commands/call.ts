import { createReadStream } from 'node:fs';
import { access } from 'node:fs/promises';
import { type CallSettings, callSettingsFrom } from '../../../command/call-options.js';
import type { CommandContext } from '../../../command/context.js';
import { type ExpectValues, expectChecks, wantsPayload } from '../../../command/expect-options.js';
import { runCallCommand } from '../../../command/run-call-command.js';
import { withTraceparent } from '../../../command/trace.js';
import { performance } from '../../../core/clock.js';
import { stringifyExact } from '../../../core/exact-json.js';
import type { ReplyView } from '../../../core/expectation.js';
import { parseJsonArg, readPayload } from '../../../core/input.js';
import type { CallOutcome } from '../../../core/run-call.js';
import { expandTemplate, hasTemplate } from '../../../core/template.js';
import { UsageError } from '../../../errors/comms-error.js';
import type { ExitCode } from '../../../errors/exit-codes.js';
import { deadlineSignal } from '../../../middleware/timeout.js';
import { reportResult } from '../../../output/human.js';
import { Output } from '../../../output/output.js';
import { GrpcTransport } from '../adapter.js';
import type { GrpcCall, GrpcReply } from '../call.js';
import { DEFAULT_RETRY_ON } from '../classify.js';
import type { GrpcCallValues } from '../flags.js';
import { encodeJson } from '../json-codec.js';
import { parseJsonStream } from '../json-stream.js';
import { type ResolvedMethod, resolveMethod, splitMethodName } from '../schema.js';
import { formatDetail } from '../status-details.js';
import { grpcMessageRecord, grpcStreamUrl } from '../stream-message.js';
import { loadTextCodec, splitTextMessages, TEXT_SEPARATOR, type TextCodec } from '../text-format.js';
import {
  endpointFrom,
  type GrpcEndpoint,
  metadataPairs,
  openConnection,
  type SchemaPlan,
  schemaPlanFrom,
} from './common.js';
import { printMetadata } from './print-metadata.js';
import { fetchSchema } from './schema-step.js';

/** `grpc call`, parsed and checked once from its options: everything below takes these values. */
export interface GrpcCallPlan extends CallSettings {
  readonly endpoint: GrpcEndpoint;
  /** As the user wrote it: `pkg.Service/Method` (or `pkg.Service.Method`). */
  readonly method: string;
  /** The service, for the reflection lookup. */
  readonly service: string;
  readonly schema: SchemaPlan;
  readonly metadata: ReadonlyArray<[string, string]>;
  /** -d: text, @file or @- (absent: `{}`, or stdin for request streams). */
  readonly data: string | undefined;
  readonly emitDefaults: boolean;
  /** --format: how -d is read and responses are printed (--json output stays JSON). */
  readonly format: 'json' | 'text';
  /** UNAVAILABLE plus --retry-on. */
  readonly retryOn: ReadonlySet<number>;
  /** Load mode's --connections K: K channels (one otherwise: gRPC multiplexes on one connection). */
  readonly channels: number;
  readonly expectStatus: ReadonlySet<number> | undefined;
  /** --expect-header/-body/-json/-time, judged by the shared implementation (command/expect-options.ts). */
  readonly expect: ExpectValues & { showSecrets: boolean };
}

export function grpcCallPlanFrom(
  targetText: string,
  methodText: string,
  values: GrpcCallValues,
): GrpcCallPlan {
  const settings = callSettingsFrom(values);
  const { service } = splitMethodName(methodText);
  const retryOn = new Set([...DEFAULT_RETRY_ON, ...(values.retryOn ?? [])]);
  const metadata = metadataPairs(withTraceparent(values.header, values.traceparent));
  return {
    ...settings,
    method: methodText,
    service,
    retryOn,
    metadata,
    // grpcurl writes `-d @` for stdin.
    data: values.data === '@' ? '@-' : values.data,
    emitDefaults: values.emitDefaults,
    format: values.format,
    channels: settings.load ? (values.connections ?? 1) : 1,
    schema: schemaPlanFrom(values),
    endpoint: endpointFrom(targetText, values),
    expectStatus: values.expectStatus,
    expect: values,
  };
}

/**
 * What a gRPC reply is to the shared expectations: `$` is the response message (unary, client
 * streaming) or the list of response messages (server and bidi streaming); headers are the response
 * metadata, headers and trailers together.
 */
function grpcView(streamsOut: boolean) {
  return (reply: GrpcReply): ReplyView => {
    const json = () => (streamsOut ? reply.messages : (reply.messages[0] ?? null));
    return {
      json,
      text: () => stringifyExact(json()) ?? '',
      headers: () => ({ ...reply.headers, ...reply.trailers }),
    };
  };
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
export async function runGrpcCall(plan: GrpcCallPlan, ctx: CommandContext): Promise<ExitCode> {
  const output = new Output(plan.output, ctx.stdout, ctx.stderr);
  let { resilience } = plan;
  const { method: methodText, metadata: pairs, retryOn } = plan;
  const loadMode = plan.load !== undefined;
  if (plan.format === 'json') await checkInlineJson(plan.data);
  // Expectations are parsed before anything is sent (exit 2 on a bad one); what `$` is depends on the
  // method's kind, known once the schema is.
  let streamed = false;
  const checks = await expectChecks(plan.expect, (reply: GrpcReply) => grpcView(streamed)(reply), 'response');
  const conn = await openConnection(plan.endpoint, plan.channels);
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
      schema: plan.schema,
      symbol: plan.service,
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
    // --format text: the second protobuf runtime is loaded only now, and only for this.
    const textCodec =
      plan.format === 'text'
        ? await loadTextCodec(schema.root, method.requestType.fullName, method.responseType.fullName)
        : undefined;
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
    /** Every call of a load run the same (no templates): one call object for all. */
    let sameEveryCall = true;
    if (streamsIn) {
      source = await streamSource(plan.data, ctx);
      const once = textCodec ? await encodeTextStream(textCodec, source) : encodeStream(method, source);
      makeRequests = () => () => once;
    } else {
      const text =
        plan.data !== undefined ? (await readPayload(plan.data, '-d', ctx.stdin)).toString('utf8') : '{}';
      const encode = textCodec
        ? (t: string) => encodeOneText(textCodec, t)
        : (t: string) => encodeJson(method.requestType, parseJsonArg(t.trim() || '{}', '-d'), 'request');
      const first = encode(text); // bad JSON or unknown fields: exit 2 before anything is sent
      const templated = loadMode && hasTemplate(text);
      const once = [first];
      makeRequests = (seq) => (templated ? () => [encode(expandTemplate(text, seq))] : () => once);
      sameEveryCall = !templated;
    }

    // grpcurl's text output puts a record separator before every message after the first.
    const printable = (message: unknown, index: number): string =>
      textCodec
        ? `${index > 0 ? TEXT_SEPARATOR : ''}${textCodec.formatResponse(encodeJson(method.responseType, message, 'response'))}\n`
        : `${JSON.stringify(message, null, 2)}\n`;
    const streamUrl = grpcStreamUrl(conn.target, method.path);
    const onMessage = streamsOut
      ? loadMode
        ? async () => {}
        : async (message: unknown, index: number, size: number) => {
            if (output.options.json)
              await output.json(
                grpcMessageRecord({ url: streamUrl, method: method.name, n: index + 1, data: message, size }),
              );
            else await output.data(printable(message, index));
          }
      : undefined;
    streamed = streamsOut;
    const keepMessages = streamsOut && wantsPayload(plan.expect);
    // Load mode decodes responses only when something reads them (profiled: protobuf to proto3 JSON
    // was ~2% of a unary run's CPU, and the result object built around it more).
    const skipDecode = loadMode && !plan.load?.jsonAll && !wantsPayload(plan.expect);
    const skipMetadata = skipDecode && plan.expect.expectHeader.length === 0;
    // One Metadata for every call (the schema fetch's too): grpc-js copies it when a call starts, and
    // the -H pairs are fixed.
    const makeCall = (seq: number): GrpcCall => ({
      target: conn.target.display,
      operation: method.name,
      method,
      metadata,
      requests: makeRequests(seq),
      retryOn,
      ...(onMessage ? { onMessage } : {}),
      ...(ctx.ready && !loadMode ? { onHeaders: ctx.ready } : {}),
      ...(keepMessages ? { keepMessages } : {}),
      ...(skipDecode ? { skipDecode } : {}),
      ...(skipMetadata ? { skipMetadata } : {}),
      ...(plan.expectStatus ? { expectStatus: plan.expectStatus } : {}),
    });
    const firstCall = makeCall(1);
    if (pairs.length) printMetadata(output, '>', Object.fromEntries(pairs));

    const transport = new GrpcTransport(conn, {
      deadlineMs: resilience.timeoutMs,
      emitDefaults: plan.emitDefaults,
      schema: schema.root,
      method,
    });
    handedOver = true;
    return await runCallCommand<GrpcCall, GrpcReply>({
      transport,
      call: firstCall,
      makeCall: sameEveryCall ? () => firstCall : makeCall,
      resilience,
      output,
      load: plan.load,
      signal: budget.signal,
      checks,
      replyBytes: (reply) => reply.bytes,
      async renderHuman(outcome: CallOutcome<GrpcReply>) {
        const { result, reply } = outcome;
        if (reply) {
          printMetadata(output, '<', reply.headers);
          printMetadata(output, '<', reply.trailers, 'trailer');
          if (!streamsOut && reply.messages[0] !== undefined)
            await output.data(printable(reply.messages[0], 0));
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
 * --format text on a request stream: the whole input is read, then split on grpcurl's record
 * separator; every message is parsed (exit 2 on a bad one) before anything is sent.
 */
async function encodeTextStream(codec: TextCodec, source: AsyncIterable<string | Buffer>): Promise<Buffer[]> {
  const chunks: Buffer[] = [];
  for await (const chunk of source) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  const text = Buffer.concat(chunks).toString('utf8');
  return splitTextMessages(text).map((t, i) => codec.encodeRequest(t, `request ${i + 1}`));
}

/** --format text, unary request: one message (empty text is the empty message). */
function encodeOneText(codec: TextCodec, text: string): Buffer {
  const messages = splitTextMessages(text);
  if (messages.length > 1)
    throw new UsageError(
      `-d (--format text): a unary request takes one message, got ${messages.length} (separated by 0x1E)`,
    );
  return codec.encodeRequest(text, 'request');
}

/**
 * `-d '{bad'` is bad input whatever the method turns out to be: report it (exit 2) before connecting.
 * Only inline text is checked here; @file and stdin are read once, by the call.
 */
async function checkInlineJson(data: string | undefined): Promise<void> {
  if (data === undefined || data.startsWith('@') || data.trim() === '') return;
  for await (const value of parseJsonStream([data] as unknown as AsyncIterable<string>, '-d')) void value;
}
