import type { CallOutcome, CallPipeline } from '../../core/run-call.js';
import type { StoredEvent } from '../event.js';
import { type EventHandler, eventPayload } from './event-handler.js';
import { type ExecCall, ExecTransport } from './exec-transport.js';

/** `--to exec:CMD`: the event JSON on stdin, its id/type/aggregate/version/position in COMMS_EVENT_*. */
export class ExecHandler implements EventHandler {
  readonly target: string;
  readonly #command: string;
  readonly #transport = new ExecTransport();

  constructor(command: string, target: string) {
    this.#command = command;
    this.target = target;
  }

  deliver(pipeline: CallPipeline, event: StoredEvent): Promise<CallOutcome<unknown>> {
    const call: ExecCall = {
      target: this.target,
      operation: 'exec',
      command: this.#command,
      input: eventPayload(event),
      env: {
        COMMS_EVENT_ID: event.id,
        COMMS_EVENT_TYPE: event.type,
        COMMS_EVENT_AGGREGATE: event.aggregate,
        COMMS_EVENT_VERSION: String(event.version),
        COMMS_EVENT_POSITION: String(event.position),
      },
    };
    return pipeline.run(this.#transport, call);
  }

  close(): Promise<void> {
    return this.#transport.close();
  }
}
