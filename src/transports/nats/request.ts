import type { RequestFlags } from '../../cli/commands/nats.js';
import {
  type LoadFlags,
  legacyLoadPlan,
  type OutputFlags,
  outputFrom,
  type ResilienceFlags,
  resilienceFrom,
} from '../../cli/options.js';
import type { CommandContext } from '../../command/context.js';
import { runCallCommand } from '../../command/run-call-command.js';
import { parseHeader, readPayload } from '../../core/input.js';
import { expandTemplate, hasTemplate } from '../../core/template.js';
import { UsageError } from '../../errors/comms-error.js';
import type { ExitCode } from '../../errors/exit-codes.js';
import { reportResult } from '../../output/human.js';
import { Output } from '../../output/output.js';
import { type NatsCall, type NatsReply, NatsTransport, type OutgoingMessage } from './adapter.js';
import { type NatsConnectionFlags, natsConnectOptionsFrom } from './connection-options.js';
import { asBuffer, headersToRecord } from './message.js';
import { validateSubject } from './subject.js';

type Flags = RequestFlags & ResilienceFlags & LoadFlags & OutputFlags & NatsConnectionFlags;

/** `-H 'Name: value'` flags as pairs (validated; templates kept for per-call expansion). */
export function parseHeaders(list: readonly string[] | undefined): Array<readonly [string, string]> {
  return (list ?? []).map((h) => parseHeader(h, '-H'));
}

/**
 * `comms-cli nats request`: one request through the shared pipeline (retries on timeout and no
 * responders, breaker, --max-time), or many in load mode. The reply payload goes to stdout, the
 * status and timing to stderr.
 */
export async function runRequest(
  subjectTemplate: string,
  payloadArg: string | undefined,
  flags: Flags,
  ctx: CommandContext,
): Promise<ExitCode> {
  const output = new Output(outputFrom(flags));
  validateSubject(expandTemplate(subjectTemplate, 1), { wildcards: false });
  if (payloadArg !== undefined && flags.data !== undefined)
    throw new UsageError('give the payload either as an argument or with -d, not both');
  const resilience = resilienceFrom(flags);
  const connect = natsConnectOptionsFrom(flags);
  const headers = parseHeaders(flags.header);
  const spec = flags.data ?? payloadArg;
  const payload =
    spec === undefined
      ? Buffer.alloc(0)
      : await readPayload(spec, flags.data !== undefined ? '-d' : 'payload', ctx.stdin);
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
    transport: new NatsTransport(connect, resilience.timeoutMs),
    call: callFor(1),
    makeCall: callFor,
    resilience,
    output,
    load: legacyLoadPlan(flags),
    signal: ctx.signal,
    replyBytes: (r) => (r.op === 'request' ? r.data.byteLength : 0),
    async renderHuman({ result, reply }) {
      if (reply?.op === 'request') {
        if (output.options.verbose) {
          const h = headersToRecord(reply.headers);
          if (h)
            for (const [k, v] of Object.entries(output.safe(h)))
              output.verbose(`${output.c.cyan(k)}: ${Array.isArray(v) ? v.join(', ') : v}`);
        }
        const body = asBuffer(reply.data);
        await output.data(body);
        if (!flags.raw && body[body.length - 1] !== 0x0a) await output.data('\n');
        reportResult(output, result, `reply from ${subjectTemplate} (${body.length} bytes)`);
      } else {
        reportResult(output, result, `${result.status ?? 'failed'}: ${subjectTemplate}`);
      }
    },
  });
}
