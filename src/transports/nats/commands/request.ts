import { createInbox } from '@nats-io/transport-node';
import { type CallSettings, callSettingsFrom } from '../../../command/call-options.js';
import type { CommandContext } from '../../../command/context.js';
import { type ExpectValues, expectChecks } from '../../../command/expect-options.js';
import { runCallCommand } from '../../../command/run-call-command.js';
import { withTraceparent } from '../../../command/trace.js';
import { performance } from '../../../core/clock.js';
import { formatMs } from '../../../core/duration.js';
import { payloadView } from '../../../core/expectation.js';
import { readPayload } from '../../../core/input.js';
import { expandTemplate, hasTemplate } from '../../../core/template.js';
import { abortReasonToError } from '../../../errors/classify.js';
import { ConnectError, TimeoutError, UsageError } from '../../../errors/comms-error.js';
import type { ExitCode } from '../../../errors/exit-codes.js';
import { reportResult } from '../../../output/human.js';
import { Output } from '../../../output/output.js';
import { NatsTransport } from '../adapter.js';
import type { NatsCall, NatsReply, OutgoingMessage } from '../call.js';
import { closeNats, connectNats } from '../connection.js';
import { type NatsConnectOptions, natsConnectOptionsFrom } from '../connection-options.js';
import type { RequestValues } from '../flags.js';
import { parseHeaders, toHeaders } from '../headers.js';
import { asBuffer, boundedHeaders, headersDroppedLine, headersToRecord, writeMessage } from '../message.js';
import { validateSubject, visible } from '../subject.js';

/** `nats request`, parsed and checked once: nothing below reads an option again. */
export interface RequestPlan extends CallSettings {
  subject: string;
  /** The payload argument or -d (text, @file, @-), read when the command runs. */
  payload: { spec: string; flag: string; raw?: boolean } | undefined;
  headers: Array<readonly [string, string]>;
  raw: boolean;
  /** --replies N: scatter-gather, wait for N replies or the timeout (no retries, no load mode). */
  replies: number | undefined;
  connect: NatsConnectOptions;
  /** --expect-header/-body/-json/-time over the reply (command/expect-options.ts). */
  expect: ExpectValues & { showSecrets: boolean };
}

export function requestPlanFrom(
  subject: string,
  payloadArg: string | undefined,
  values: RequestValues,
): RequestPlan {
  validateSubject(expandTemplate(subject, 1), { wildcards: false });
  if (payloadArg !== undefined && values.data !== undefined)
    throw new UsageError('give the payload either as an argument or with -d, not both');
  if (values.dataRaw !== undefined && (payloadArg !== undefined || values.data !== undefined))
    throw new UsageError('give the payload once: --data-raw, -d or the payload argument');
  const spec = values.dataRaw ?? values.data ?? payloadArg;
  const settings = callSettingsFrom(values);
  if (values.replies !== undefined) {
    if (settings.load)
      throw new UsageError('--replies does not combine with load mode (-n, --duration, --rate)');
    if (settings.resilience.retries > 0)
      throw new UsageError('--replies does not retry: the replies that came are the answer (drop --retries)');
    if (values.expectHeader.length + values.expectBody.length + values.expectJson.length > 0)
      throw new UsageError('--expect-header/-body/-json judge one reply: they do not combine with --replies');
  }
  return {
    subject,
    payload:
      spec === undefined
        ? undefined
        : values.dataRaw !== undefined
          ? { spec, flag: '--data-raw', raw: true }
          : { spec, flag: values.data !== undefined ? '-d' : 'payload' },
    headers: parseHeaders(withTraceparent(values.header, values.traceparent)),
    raw: values.raw,
    replies: values.replies,
    ...settings,
    connect: natsConnectOptionsFrom(values),
    expect: values,
  };
}

/**
 * `comms-cli nats request`: one request through the shared pipeline (retries on timeout and no
 * responders, breaker, --max-time), or many in load mode. The reply payload goes to stdout, the
 * status and timing to stderr.
 */
export async function runRequest(plan: RequestPlan, ctx: CommandContext): Promise<ExitCode> {
  const output = new Output(plan.output, ctx.stdout, ctx.stderr);
  if (plan.replies !== undefined) return runScatterGather(plan, plan.replies, output, ctx);
  const { subject: subjectTemplate, headers, resilience } = plan;
  const payload =
    plan.payload === undefined
      ? Buffer.alloc(0)
      : plan.payload.raw
        ? Buffer.from(plan.payload.spec)
        : await readPayload(plan.payload.spec, plan.payload.flag, ctx.stdin);
  const text = payload.toString('utf8');
  const templated =
    hasTemplate(subjectTemplate) ||
    hasTemplate(text) ||
    headers.some(([k, v]) => hasTemplate(k) || hasTemplate(v));

  // Load mode without --json-all: the per-call result is only counted; the reply is still judged
  // (--expect-* read the reply itself), so its payload is not decoded into the result.
  const skipDescribe = plan.load !== undefined && !plan.load.jsonAll;
  const callFor = (seq: number): NatsCall => {
    const now = new Date();
    const subject = templated ? expandTemplate(subjectTemplate, seq, now) : subjectTemplate;
    if (subject !== subjectTemplate) validateSubject(subject, { wildcards: false });
    const message: OutgoingMessage = {
      subject,
      data: templated && hasTemplate(text) ? Buffer.from(expandTemplate(text, seq, now)) : payload,
      ...(headers.length
        ? {
            headers: headers.map(
              ([k, v]) => [expandTemplate(k, seq, now), expandTemplate(v, seq, now)] as const,
            ),
          }
        : {}),
    };
    return {
      target: subject,
      operation: 'request',
      op: 'request',
      message,
      breakerKey: subjectTemplate,
      ...(skipDescribe ? { skipDescribe } : {}),
    };
  };
  const first = callFor(1);

  return runCallCommand<NatsCall, NatsReply>({
    transport: new NatsTransport(
      // Load mode: no async-stack Error objects per request (stacks show only with --debug).
      plan.load && !plan.output.debug ? { ...plan.connect, asyncTraces: false } : plan.connect,
      resilience.timeoutMs,
    ),
    call: first,
    // Without templates every call is the same: one call object for the whole run.
    makeCall: templated ? callFor : () => first,
    resilience,
    output,
    load: plan.load,
    signal: ctx.signal,
    // The reply's data and headers (a reply whose headers were too big to decode has none).
    checks: await expectChecks(
      plan.expect,
      (r: NatsReply) =>
        r.op === 'request'
          ? payloadView(r.data, () => headersToRecord(r.headers))
          : payloadView(undefined, () => undefined),
      'reply',
    ),
    replyBytes: (r) => (r.op === 'request' ? r.data.byteLength : 0),
    async renderHuman({ result, reply }) {
      if (reply?.op === 'request') {
        if (reply.headersDropped !== undefined && !output.options.quiet)
          output.err.write(
            `${output.c.yellow(headersDroppedLine(1, subjectTemplate, reply.headersDropped).replace('message #1', 'the reply'))}\n`,
          );
        if (output.options.verbose) {
          const h = headersToRecord(reply.headers);
          // Reply headers come from the peer: control characters escaped.
          if (h)
            for (const [k, v] of Object.entries(output.safe(h)))
              output.verbose(`${output.c.cyan(visible(k))}: ${visible(Array.isArray(v) ? v.join(', ') : v)}`);
        }
        const body = asBuffer(reply.data);
        await output.data(body);
        if (!plan.raw && body[body.length - 1] !== 0x0a) await output.data('\n');
        reportResult(output, result, `reply from ${subjectTemplate} (${body.length} bytes)`);
      } else {
        reportResult(output, result, `${result.status ?? 'failed'}: ${subjectTemplate}`);
      }
    },
  });
}

/**
 * `nats request --replies N`: one request, many answers (every member of a service, not a queue
 * group). Publishes once with a private inbox as the reply subject and prints each reply as it comes,
 * until N came (exit 0) or --timeout / --max-time passed (exit 4, naming how many came). No responders
 * at all is exit 3, as for a single request.
 */
async function runScatterGather(
  plan: RequestPlan,
  wanted: number,
  output: Output,
  ctx: CommandContext,
): Promise<ExitCode> {
  const { subject, headers, resilience } = plan;
  const payload =
    plan.payload === undefined
      ? Buffer.alloc(0)
      : plan.payload.raw
        ? Buffer.from(plan.payload.spec)
        : await readPayload(plan.payload.spec, plan.payload.flag, ctx.stdin);
  const limitMs = Math.min(resilience.timeoutMs, resilience.maxTimeMs ?? Number.POSITIVE_INFINITY);
  const started = performance.now();
  const nc = await connectNats(plan.connect, output);
  let got = 0;
  try {
    const inbox = createInbox();
    const sub = nc.subscribe(inbox, { max: wanted });
    const stop = () => sub.unsubscribe();
    const timer = setTimeout(stop, limitMs);
    ctx.signal.addEventListener('abort', stop, { once: true });
    try {
      nc.publish(subject, payload, {
        reply: inbox,
        ...(headers.length ? { headers: toHeaders(headers) } : {}),
      });
      for await (const m of sub) {
        // The server answers a request nobody listens to with a 503 status message.
        if (got === 0 && m.headers?.hasError && m.headers.code === 503 && m.data.byteLength === 0)
          throw new ConnectError(`no responders on '${visible(subject)}'`, {
            code: 'COMMS_ERR_NATS_NO_RESPONDERS',
            hint: 'nothing is subscribed to that subject; start a responder (comms-cli nats reply SUBJECT)',
          });
        got += 1;
        const { headers: hdrs, dropped } = boundedHeaders(m);
        await writeMessage(
          output,
          {
            subject: m.subject,
            headers: hdrs,
            ...(dropped !== undefined ? { headersDropped: dropped } : {}),
            data: m.data,
          },
          got,
          { raw: plan.raw },
        );
      }
    } finally {
      clearTimeout(timer);
      ctx.signal.removeEventListener('abort', stop);
    }
  } finally {
    await closeNats(nc);
  }
  if (ctx.signal.aborted) throw abortReasonToError(ctx.signal.reason);
  const ms = performance.now() - started;
  if (got < wanted)
    throw new TimeoutError(
      `${got} of ${wanted} ${wanted === 1 ? 'reply' : 'replies'} on '${visible(subject)}' within ${formatMs(limitMs)}`,
      { code: 'COMMS_ERR_NATS_TIMEOUT' },
    );
  output.info(
    output.c.dim(`${got} ${got === 1 ? 'reply' : 'replies'} from ${visible(subject)} · ${formatMs(ms)}`),
  );
  return 0 as ExitCode;
}
