import { callSettingsFrom } from '../../../command/call-options.js';
import type { CommandContext } from '../../../command/context.js';
import { runCallCommand } from '../../../command/run-call-command.js';
import { tlsFrom } from '../../../command/tls-options.js';
import { stdinLines } from '../../../core/input.js';
import { mapAsync, range } from '../../../core/iterate.js';
import { UsageError } from '../../../errors/comms-error.js';
import type { ExitCode } from '../../../errors/exit-codes.js';
import { reportResult } from '../../../output/human.js';
import { Output } from '../../../output/output.js';
import { MqttTransport } from '../adapter.js';
import type { MqttCall, MqttReply } from '../call.js';
import { mqttEndpoint } from '../connection.js';
import type { PublishValues } from '../flags.js';
import { messageMaker } from '../outgoing.js';

/**
 * `comms-cli mqtt publish <topic> [payload]`: one batch (one message, --count N, stdin --lines) as one
 * call, done when the broker acknowledged every QoS 1/2 message; or load mode, one message per call
 * (latency = the PUBACK/PUBCOMP round trip).
 */
export async function runPublish(
  topic: string,
  payloadArg: string | undefined,
  values: PublishValues,
  ctx: CommandContext,
): Promise<ExitCode> {
  const settings = callSettingsFrom(values);
  const output = new Output(settings.output, ctx.stdout, ctx.stderr);
  const endpoint = mqttEndpoint(values, tlsFrom(values), settings.resilience.timeoutMs);
  const load = settings.load;
  if (load && (values.count > 1 || values.lines))
    throw new UsageError('--count and --lines cannot be combined with load mode (-n/--duration/--rate)');
  const make = await messageMaker(topic, values, payloadArg, ctx.stdin, {
    lines: values.lines,
    retain: values.retain,
    version: endpoint.version,
  });
  const resilience =
    values.lines && values.timeout === 30_000
      ? { ...settings.resilience, timeoutMs: Number.POSITIVE_INFINITY }
      : settings.resilience;
  const lines = values.lines ? stdinLines(ctx.stdin, ctx.signal) : undefined;
  const count = values.count;
  const call: MqttCall = {
    target: topic,
    operation: 'publish',
    op: 'publish',
    messages: lines
      ? () => mapAsync(lines, (line, seq) => make(seq, Buffer.from(line)))
      : () => range(count, (seq) => make(seq)),
  };
  const acked = values.qos === '0' ? 'sent, QoS 0' : `acknowledged, QoS ${values.qos}`;
  return runCallCommand<MqttCall, MqttReply>({
    transport: new MqttTransport(endpoint),
    call,
    makeCall: (seq) => ({ target: topic, operation: 'publish', op: 'publish', messages: () => [make(seq)] }),
    resilience,
    output,
    load,
    signal: ctx.signal,
    replyBytes: (r) => (r.op === 'publish' ? r.bytes : 0),
    async renderHuman({ result, reply }) {
      const n = reply?.op === 'publish' ? reply.count : 0;
      const plural = `message${n === 1 ? '' : 's'}`;
      const retained = values.retain ? ', retained' : '';
      if (result.ok)
        reportResult(output, result, `published ${n} ${plural} to ${topic} (${acked}${retained})`);
      else if (reply?.op === 'publish')
        reportResult(output, result, `published ${n} ${plural} to ${topic}, then stopped`);
      else reportResult(output, result, `publish to ${topic} failed`);
    },
  });
}
