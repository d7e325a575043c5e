import type { MsgHdrs } from '@nats-io/transport-node';
import type { CallBase } from '../../core/transport.js';
import type { CommsError } from '../../errors/comms-error.js';

/** One message to send: subject, payload, headers (already expanded from templates). */
export interface OutgoingMessage {
  subject: string;
  data: Uint8Array;
  headers?: ReadonlyArray<readonly [string, string]>;
  replyTo?: string;
}

/**
 * A NATS call, one of:
 * - `request`: one request, one reply;
 * - `publish`: core publish of a batch (one message, `--count N`, or stdin `--lines`) then a flush, so
 *   the server has them all. A batch is one call: a core publish has no acknowledgement to retry on;
 * - `js-publish`: one JetStream publish that waits for the stream's ack. `msgId` is fixed when the call
 *   is made, so every retry of it carries the same Nats-Msg-Id and the stream drops the duplicate.
 */
export type NatsCall = CallBase &
  (
    | {
        readonly op: 'request';
        readonly message: OutgoingMessage;
        /**
         * Load mode when nothing reads the reply (no --expect-*, no --json-all): the result carries
         * no data or headers (the reply payload is not decoded into it); the reply is still judged.
         */
        readonly skipDescribe?: boolean;
      }
    | {
        readonly op: 'publish';
        readonly messages: () => Iterable<OutgoingMessage> | AsyncIterable<OutgoingMessage>;
        /**
         * Every message of the batch is this one (`--count N` without templates): sent N times in a
         * plain loop, its size checked and its publish options built once.
         */
        readonly repeat?: { readonly message: OutgoingMessage; readonly count: number };
      }
    | {
        readonly op: 'js-publish';
        readonly message: OutgoingMessage;
        readonly msgId?: string;
        readonly expectStream?: string;
      }
  );

export type NatsReply =
  | {
      readonly op: 'request';
      readonly headers?: MsgHdrs | undefined;
      /** Size of a header block over MAX_HEADER_BLOCK, not decoded (headers is then undefined). */
      readonly headersDropped?: number;
      readonly data: Uint8Array;
    }
  | {
      readonly op: 'publish';
      readonly count: number;
      readonly bytes: number;
      /** Why the batch stopped early (Ctrl-C, SIGTERM, --timeout) after `count` messages. */
      readonly stopped?: CommsError;
    }
  | {
      readonly op: 'js-publish';
      readonly stream: string;
      readonly seq: number;
      readonly duplicate: boolean;
      readonly domain?: string | undefined;
      readonly msgId?: string | undefined;
    };
