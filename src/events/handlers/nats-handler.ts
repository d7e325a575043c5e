import type { CallOutcome, CallPipeline } from '../../core/run-call.js';
import { type NatsCall, NatsTransport } from '../../transports/nats/adapter.js';
import {
  type NatsConnectionFlags,
  natsConnectOptionsFrom,
} from '../../transports/nats/connection-options.js';
import type { StoredEvent } from '../event.js';
import { type EventHandler, eventPayload } from './event-handler.js';

/**
 * `--to nats:SUBJECT`: each event is a request on SUBJECT through the shared NATS transport; any
 * reply means handled (a micro-services error reply, `Nats-Service-Error-Code`, means failed). No
 * responders and timeouts are retried, as for `nats request`. The event id is in `Nats-Msg-Id`.
 * The server is `-s`, else NATS_URL, else the store's server when it is JetStream; credentials and
 * TLS files are the command's NATS connection flags (the same ones as the store's).
 */
export function createNatsHandler(
  subject: string,
  target: string,
  connection: NatsConnectionFlags,
  timeoutMs: number,
): EventHandler {
  const options = natsConnectOptionsFrom(connection, { reconnect: 'brief' });
  const transport = new NatsTransport(options, timeoutMs);
  return {
    target,
    deliver(pipeline: CallPipeline, event: StoredEvent): Promise<CallOutcome<unknown>> {
      const call: NatsCall = {
        target,
        operation: 'request',
        op: 'request',
        message: {
          subject,
          data: eventPayload(event),
          headers: [
            ['Nats-Msg-Id', event.id],
            ['Comms-Event-Type', event.type],
            ['Comms-Event-Aggregate', event.aggregate],
            ['Comms-Event-Version', String(event.version)],
          ],
        },
      };
      return pipeline.run(transport, call);
    },
    close: () => transport.close(),
  };
}
