import { callSettingsFrom } from '../../../command/call-options.js';
import type { CommandContext } from '../../../command/context.js';
import { expectChecks } from '../../../command/expect-options.js';
import { runCallCommand } from '../../../command/run-call-command.js';
import { tlsFrom } from '../../../command/tls-options.js';
import { payloadView } from '../../../core/expectation.js';
import { UsageError } from '../../../errors/comms-error.js';
import type { ExitCode } from '../../../errors/exit-codes.js';
import { reportResult } from '../../../output/human.js';
import { Output } from '../../../output/output.js';
import { MqttTransport } from '../adapter.js';
import type { MqttCall, MqttReply } from '../call.js';
import { mqttEndpoint } from '../connection.js';
import type { RequestValues } from '../flags.js';
import { messageMaker } from '../outgoing.js';
import { validateTopic } from '../topic.js';

/**
 * `comms-cli mqtt request <topic> [payload]`: MQTT 5 request/response. The request carries a response
 * topic (subscribed before the first request) and fresh correlation data; the reply with that
 * correlation data is the answer. Retries and timeouts through the shared pipeline; load mode.
 */
export async function runRequest(
  topic: string,
  payloadArg: string | undefined,
  values: RequestValues,
  ctx: CommandContext,
): Promise<ExitCode> {
  const settings = callSettingsFrom(values);
  const output = new Output(settings.output, ctx.stdout, ctx.stderr);
  const endpoint = mqttEndpoint(values, tlsFrom(values), settings.resilience.timeoutMs);
  if (endpoint.version !== 5)
    throw new UsageError(
      'mqtt request needs MQTT 5 (response topic and correlation data): drop --mqtt-version 3.1.1',
    );
  if (values.responseTopic !== undefined)
    validateTopic(values.responseTopic, { filter: false, flag: '--response-topic' });
  const make = await messageMaker(topic, values, payloadArg, ctx.stdin, { version: endpoint.version });
  const transport = new MqttTransport(endpoint, values.responseTopic);
  const callFor = (seq: number): MqttCall => ({
    target: topic,
    operation: 'request',
    op: 'request',
    message: make(seq),
  });
  return runCallCommand<MqttCall, MqttReply>({
    transport,
    call: callFor(1),
    makeCall: callFor,
    resilience: settings.resilience,
    output,
    load: settings.load,
    signal: ctx.signal,
    // The reply's payload; --expect-header sees its MQTT 5 user properties.
    checks: await expectChecks(
      values,
      (r: MqttReply) =>
        r.op === 'request' ? payloadView(r.data, () => r.headers) : payloadView(undefined, () => undefined),
      'reply',
    ),
    replyBytes: (r) => (r.op === 'request' ? r.data.byteLength : 0),
    async renderHuman({ result, reply }) {
      if (reply?.op === 'request') {
        if (output.options.verbose)
          for (const [k, v] of Object.entries(output.safe(reply.headers ?? {})))
            output.verbose(`${output.c.cyan(k)}: ${Array.isArray(v) ? v.join(', ') : v}`);
        await output.data(reply.data);
        if (!values.raw && reply.data[reply.data.length - 1] !== 0x0a) await output.data('\n');
        reportResult(output, result, `reply on ${reply.topic} (${reply.data.length} bytes)`);
      } else reportResult(output, result, `${result.status ?? 'failed'}: ${topic}`);
    },
  });
}
