import type { Verdict } from '../../core/transport.js';
import { type CommsError, InterruptedError, ResponseError, TimeoutError } from '../../errors/comms-error.js';
import { type MqttCall, type MqttReply, SERVICE_ERROR, SERVICE_ERROR_CODE } from './call.js';

/**
 * What MQTT retries: a request that timed out, and any call whose connection never came up (refused
 * socket; a CONNACK refusal is not retried: the broker said no). A publish batch is not retried once
 * messages may have gone out; QoS 1/2 redelivery within a session is the broker's and mqtt.js's job.
 */
export const NEVER_RETRIED: ReadonlySet<string> = new Set(['COMMS_ERR_MQTT_CONNACK', 'COMMS_ERR_TLS']);

export function classify(outcome: { reply?: MqttReply; error?: CommsError }, call: MqttCall): Verdict {
  const r = outcome.reply;
  if (r) {
    if (r.op === 'request') {
      const code = r.headers?.[SERVICE_ERROR_CODE];
      if (code === undefined) return { ok: true, retryable: false, peerFault: false, status: 'reply' };
      const why = r.headers?.[SERVICE_ERROR];
      return {
        ok: false,
        retryable: false,
        peerFault: false,
        status: `service error ${String(code)}`,
        error: new ResponseError(`service error ${String(code)}${why ? `: ${String(why)}` : ''}`, {
          code: 'COMMS_ERR_MQTT_SERVICE',
        }),
      };
    }
    if (r.stopped) {
      const message = `${r.stopped.message} after publishing ${r.count} message${r.count === 1 ? '' : 's'}`;
      const error =
        r.stopped.kind === 'timeout'
          ? new TimeoutError(message, { cause: r.stopped })
          : new InterruptedError(message, { cause: r.stopped });
      return { ok: false, retryable: false, peerFault: false, error, status: r.stopped.kind };
    }
    return { ok: true, retryable: false, peerFault: false, status: r.qos > 0 ? 'acknowledged' : 'sent' };
  }
  const error = outcome.error as CommsError;
  if (NEVER_RETRIED.has(error.code))
    return { ok: false, retryable: false, peerFault: false, error, status: 'refused' };
  if (error.kind === 'timeout')
    return { ok: false, retryable: call.op === 'request', peerFault: true, error, status: 'timeout' };
  if (error.kind === 'connect')
    return {
      ok: false,
      retryable: call.op === 'request' || error.code === 'COMMS_ERR_CONNECT',
      peerFault: true,
      error,
      status: 'connect',
    };
  return { ok: false, retryable: false, peerFault: false, error, status: error.kind };
}
