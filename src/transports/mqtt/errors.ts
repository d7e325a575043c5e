import { abortReasonToError, errorCode, toCommsError } from '../../errors/classify.js';
import { type CommsError, ConnectError, ResponseError, TimeoutError } from '../../errors/comms-error.js';

/**
 * mqtt.js errors -> typed CommsErrors, by the numeric reason code mqtt.js puts on `code`
 * (ErrorWithReasonCode: CONNACK refusals, PUBACK/PUBREC failures, SUBACK failures) or the socket
 * errno. Stable codes: COMMS_ERR_MQTT_CONNACK (exit 3, the reason named), COMMS_ERR_MQTT_PUBLISH,
 * COMMS_ERR_MQTT_SUBSCRIBE (exit 1), COMMS_ERR_MQTT_TIMEOUT (exit 4).
 */

/** MQTT 5 reason codes (and MQTT 3.1.1 CONNACK return codes 1-5) by number. */
export const REASONS: Readonly<Record<number, string>> = {
  1: 'Unacceptable protocol version',
  2: 'Identifier rejected',
  3: 'Server unavailable',
  4: 'Bad username or password',
  5: 'Not authorized',
  128: 'Unspecified error',
  129: 'Malformed Packet',
  130: 'Protocol Error',
  131: 'Implementation specific error',
  132: 'Unsupported Protocol Version',
  133: 'Client Identifier not valid',
  134: 'Bad User Name or Password',
  135: 'Not authorized',
  136: 'Server unavailable',
  137: 'Server busy',
  138: 'Banned',
  140: 'Bad authentication method',
  143: 'Topic Filter invalid',
  144: 'Topic Name invalid',
  149: 'Packet too large',
  151: 'Quota exceeded',
  153: 'Payload format invalid',
  154: 'Retain not supported',
  155: 'QoS not supported',
  159: 'Connection rate exceeded',
};

export type MqttPhase = 'connect' | 'publish' | 'subscribe';

export function mqttError(err: unknown, target: string, phase: MqttPhase, signal?: AbortSignal): CommsError {
  if (signal?.aborted) return abortReasonToError(signal.reason);
  const code = (err as { code?: unknown } | undefined)?.code;
  if (typeof code === 'number') {
    const reason = REASONS[code] ?? `reason code ${code}`;
    if (phase === 'connect')
      return new ConnectError(`the broker refused the connection: ${reason} (CONNACK ${code}) (${target})`, {
        cause: err,
        code: 'COMMS_ERR_MQTT_CONNACK',
        ...(code === 4 || code === 5 || code === 134 || code === 135
          ? { hint: 'check --username/--password (or MQTT_PASSWORD) and the broker ACL' }
          : {}),
      });
    return new ResponseError(`${phase} refused by the broker: ${reason} (reason code ${code})`, {
      cause: err,
      code: phase === 'publish' ? 'COMMS_ERR_MQTT_PUBLISH' : 'COMMS_ERR_MQTT_SUBSCRIBE',
    });
  }
  const message = (err as { message?: string } | undefined)?.message ?? String(err);
  // mqtt.js's own CONNACK timer carries no errno.
  if (errorCode(err) === undefined && /connack timeout/i.test(message))
    return new TimeoutError(`no CONNACK from ${target} in time`, {
      cause: err,
      code: 'COMMS_ERR_MQTT_TIMEOUT',
    });
  const typed = toCommsError(err, target, signal);
  if (typed.kind === 'response' && phase === 'connect')
    return new ConnectError(`${message} (${target})`, { cause: err });
  if (typed.kind === 'response' && /client disconnecting|connection closed/i.test(message))
    return new ConnectError(`the connection to ${target} closed`, {
      cause: err,
      code: 'COMMS_ERR_MQTT_CLOSED',
    });
  return typed;
}
