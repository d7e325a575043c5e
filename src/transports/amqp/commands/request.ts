import { callSettingsFrom } from '../../../command/call-options.js';
import type { CommandContext } from '../../../command/context.js';
import { expectChecks } from '../../../command/expect-options.js';
import { runCallCommand } from '../../../command/run-call-command.js';
import { tlsFrom } from '../../../command/tls-options.js';
import { payloadView } from '../../../core/expectation.js';
import type { ExitCode } from '../../../errors/exit-codes.js';
import { reportResult } from '../../../output/human.js';
import { Output } from '../../../output/output.js';
import { AmqpTransport } from '../adapter.js';
import type { AmqpCall, AmqpReply } from '../call.js';
import { amqpEndpoint } from '../connection.js';
import type { RequestValues } from '../flags.js';
import { destinationOf, messageMaker } from '../outgoing.js';

/**
 * `comms-cli amqp request <exchange|queue> [payload]`: RPC over RabbitMQ's direct reply-to. Each call
 * publishes one message (mandatory, reply-to amq.rabbitmq.reply-to, a fresh correlation id unless
 * --correlation-id gives one) and waits for the reply with that id, through the shared pipeline:
 * timeouts and "no route" are retried when --retries allows; many calls in load mode share one channel.
 */
export async function runRequest(
  target: string,
  payloadArg: string | undefined,
  values: RequestValues,
  ctx: CommandContext,
): Promise<ExitCode> {
  const settings = callSettingsFrom(values);
  const output = new Output(settings.output, ctx.stdout, ctx.stderr);
  const dest = destinationOf(target, values.routingKey);
  const endpoint = amqpEndpoint(values.url, tlsFrom(values), {
    showSecrets: values.showSecrets,
    connectTimeoutMs: settings.resilience.timeoutMs,
  });
  const make = await messageMaker(dest, values, payloadArg, ctx.stdin);
  const displayTarget = dest.kind === 'queue' ? dest.name : `${dest.name}/${values.routingKey ?? ''}`;
  const callFor = (seq: number): AmqpCall => ({
    target: displayTarget,
    operation: 'request',
    op: 'request',
    message: make(seq),
  });
  return runCallCommand<AmqpCall, AmqpReply>({
    transport: new AmqpTransport({ endpoint, confirm: true }),
    call: callFor(1),
    makeCall: callFor,
    resilience: settings.resilience,
    output,
    load: settings.load,
    signal: ctx.signal,
    // The reply's body; --expect-header sees its properties (content-type, ...) and headers.
    checks: await expectChecks(
      values,
      (r: AmqpReply) =>
        r.op === 'request'
          ? payloadView(r.data, () => ({ ...r.properties, ...r.headers }))
          : payloadView(undefined, () => undefined),
      'reply',
    ),
    replyBytes: (r) => (r.op === 'request' ? r.data.byteLength : 0),
    async renderHuman({ result, reply }) {
      if (reply?.op === 'request') {
        if (output.options.verbose) {
          for (const [k, v] of Object.entries(reply.properties)) output.verbose(`${output.c.dim(k)}: ${v}`);
          for (const [k, v] of Object.entries(output.safe(reply.headers ?? {})))
            output.verbose(`${output.c.cyan(k)}: ${Array.isArray(v) ? v.join(', ') : v}`);
        }
        await output.data(reply.data);
        if (!values.raw && reply.data[reply.data.length - 1] !== 0x0a) await output.data('\n');
        reportResult(output, result, `reply from ${displayTarget} (${reply.data.length} bytes)`);
      } else reportResult(output, result, `${result.status ?? 'failed'}: ${displayTarget}`);
    },
  });
}
