import type { IClientPublishOptions } from 'mqtt';
import type { CallBase } from '../../core/transport.js';
import type { CommsError } from '../../errors/comms-error.js';
import type { HeaderRecord } from '../../output/stream-message.js';

/** One message to send (templates already expanded). */
export interface OutgoingMqtt {
  readonly topic: string;
  readonly payload: Buffer;
  readonly options: IClientPublishOptions;
}

/**
 * An MQTT call: a `publish` batch (done when the broker acknowledged every QoS 1/2 message; QoS 0 when
 * written), or a `request` over MQTT 5 response topic + correlation data.
 */
export type MqttCall = CallBase &
  (
    | {
        readonly op: 'publish';
        readonly messages: () => Iterable<OutgoingMqtt> | AsyncIterable<OutgoingMqtt>;
      }
    | { readonly op: 'request'; readonly message: OutgoingMqtt }
  );

export type MqttReply =
  | {
      readonly op: 'publish';
      readonly count: number;
      readonly bytes: number;
      readonly qos: number;
      readonly stopped?: CommsError;
    }
  | {
      readonly op: 'request';
      readonly topic: string;
      readonly headers: HeaderRecord | undefined;
      readonly data: Buffer;
    };

/** The user properties of an MQTT reply that mark a responder's failure (as `mqtt reply --exec` sends them; the same names as AMQP's headers). */
export const SERVICE_ERROR_CODE = 'x-service-error-code';
export const SERVICE_ERROR = 'x-service-error';
