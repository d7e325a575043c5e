import { type CallSettings, callSettingsFrom } from '../../../command/call-options.js';
import type { CommandContext } from '../../../command/context.js';
import { runCallCommand } from '../../../command/run-call-command.js';
import { withTraceparent } from '../../../command/trace.js';
import { readPayload } from '../../../core/input.js';
import { expandTemplate, hasTemplate } from '../../../core/template.js';
import { UsageError } from '../../../errors/comms-error.js';
import type { ExitCode } from '../../../errors/exit-codes.js';
import { reportResult } from '../../../output/human.js';
import { Output } from '../../../output/output.js';
import { NatsTransport } from '../adapter.js';
import type { NatsCall, NatsReply, OutgoingMessage } from '../call.js';
import { type NatsConnectOptions, natsConnectOptionsFrom } from '../connection-options.js';
import type { RequestValues } from '../flags.js';
import { parseHeaders } from '../headers.js';
import { asBuffer, headersDroppedLine, headersToRecord } from '../message.js';
import { validateSubject, visible } from '../subject.js';

/** `nats request`, parsed and checked once: nothing below reads an option again. */
export interface RequestPlan extends CallSettings {
  subject: string;
  /** The payload argument or -d (text, @file, @-), read when the command runs. */
  payload: { spec: string; flag: string; raw?: boolean } | undefined;
  headers: Array<readonly [string, string]>;
  raw: boolean;
  connect: NatsConnectOptions;
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
    ...callSettingsFrom(values),
    connect: natsConnectOptionsFrom(values),
  };
}

/**
 * `comms-cli nats request`: one request through the shared pipeline (retries on timeout and no
 * responders, breaker, --max-time), or many in load mode. The reply payload goes to stdout, the
 * status and timing to stderr.
 */
export async function runRequest(plan: RequestPlan, ctx: CommandContext): Promise<ExitCode> {
  const output = new Output(plan.output, ctx.stdout, ctx.stderr);
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
    return { target: subject, operation: 'request', op: 'request', message, breakerKey: subjectTemplate };
  };

  return runCallCommand<NatsCall, NatsReply>({
    transport: new NatsTransport(plan.connect, resilience.timeoutMs),
    call: callFor(1),
    makeCall: callFor,
    resilience,
    output,
    load: plan.load,
    signal: ctx.signal,
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
