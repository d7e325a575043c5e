import type { Options } from 'amqplib';
import type { CallBase } from '../../core/transport.js';
import type { CommsError } from '../../errors/comms-error.js';
import type { HeaderRecord } from '../../output/stream-message.js';

/** One message to send: where (exchange + routing key; the default exchange '' routes to a queue by name), what, how. */
export interface OutgoingAmqp {
  readonly exchange: string;
  readonly routingKey: string;
  readonly content: Buffer;
  readonly options: Options.Publish;
}

/**
 * An AMQP call, one of:
 * - `publish`: a batch (one message, `--count N`, stdin `--lines`), each confirmed by the broker
 *   (publisher confirms) unless --no-confirm; the batch is one call, done when every confirm is in;
 * - `request`: one RPC over direct reply-to (`amq.rabbitmq.reply-to`), matched by correlation id.
 */
export type AmqpCall = CallBase &
  (
    | {
        readonly op: 'publish';
        readonly messages: () => Iterable<OutgoingAmqp> | AsyncIterable<OutgoingAmqp>;
      }
    | { readonly op: 'request'; readonly message: OutgoingAmqp }
  );

/** A message the broker handed back (basic.return): unroutable with mandatory set. */
export interface Returned {
  readonly replyCode: number;
  readonly replyText: string;
  readonly exchange: string;
  readonly routingKey: string;
}

export type AmqpReply =
  | {
      readonly op: 'publish';
      /** Messages sent (and confirmed, unless --no-confirm). */
      readonly count: number;
      readonly bytes: number;
      /** Unroutable messages (with --mandatory), in order. */
      readonly returned: readonly Returned[];
      /** Messages the broker nacked. */
      readonly nacked: number;
      /** Why the batch stopped early (Ctrl-C, --timeout) after `count` messages. */
      readonly stopped?: CommsError;
    }
  | {
      readonly op: 'request';
      readonly headers: HeaderRecord | undefined;
      readonly properties: Record<string, string>;
      readonly data: Buffer;
      readonly correlationId: string;
    };

/** The headers of an AMQP reply that mark a responder's failure (as `amqp reply --exec` sends them). */
export const SERVICE_ERROR_CODE = 'x-service-error-code';
export const SERVICE_ERROR = 'x-service-error';
