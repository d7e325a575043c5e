import { EventEmitter } from 'node:events';
import * as grpc from '@grpc/grpc-js';

/** grpc.health.v1 serving states. */
export type ServingStatus = 'UNKNOWN' | 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN';

/** Health of each service (`''` = the whole server); changes are pushed to Watch streams. */
export class HealthState {
  readonly #status = new Map<string, ServingStatus>();
  readonly #events = new EventEmitter();

  constructor() {
    this.#events.setMaxListeners(0);
  }

  set(service: string, status: ServingStatus): void {
    this.#status.set(service, status);
    this.#events.emit('change', service, status);
  }

  get(service: string): ServingStatus | undefined {
    return this.#status.get(service);
  }

  all(): Map<string, ServingStatus> {
    return new Map(this.#status);
  }

  /** Servers going down tell watchers NOT_SERVING, as grpc-go does on graceful stop. */
  shutdown(): void {
    for (const service of this.#status.keys()) this.set(service, 'NOT_SERVING');
  }

  onChange(listener: (service: string, status: ServingStatus) => void): () => void {
    this.#events.on('change', listener);
    return () => this.#events.off('change', listener);
  }
}

interface HealthRequest {
  service?: string;
}

/** The grpc.health.v1.Health service over a HealthState (Check, List, Watch). */
export function healthImplementation(state: HealthState): Record<string, unknown> {
  return {
    Check(call: grpc.ServerUnaryCall<HealthRequest, unknown>, callback: grpc.sendUnaryData<unknown>) {
      const service = call.request.service ?? '';
      const status = state.get(service);
      if (status === undefined)
        callback({ code: grpc.status.NOT_FOUND, details: `unknown service '${service}'` });
      else callback(null, { status });
    },
    List(_call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) {
      const statuses: Record<string, { status: ServingStatus }> = {};
      for (const [k, v] of state.all()) statuses[k] = { status: v };
      callback(null, { statuses });
    },
    Watch(call: grpc.ServerWritableStream<HealthRequest, unknown>) {
      const service = call.request.service ?? '';
      let last: ServingStatus | undefined;
      const send = (status: ServingStatus) => {
        if (status === last) return;
        last = status;
        call.write({ status });
      };
      send(state.get(service) ?? 'SERVICE_UNKNOWN');
      const off = state.onChange((s, status) => {
        if (s === service) send(status);
      });
      call.on('cancelled', off);
      call.on('close', off);
    },
  };
}
