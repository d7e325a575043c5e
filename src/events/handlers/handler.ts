import type { CallOutcome, CallPipeline } from '../../core/run-call.js';
import { UsageError } from '../../errors/comms-error.js';
import type { NatsConnectionFlags } from '../../transports/nats/connection-options.js';
import type { StoredEvent } from '../event.js';

/**
 * A dispatch target (`--to`). Delivery goes through the shared CallPipeline with the target's own
 * Transport, so retries, timeouts and the breaker are the same middleware as every other call.
 */
export interface EventHandler {
  /** `--to` as given (credentials in URLs redacted): breaker key and dead-letter `handler`. */
  readonly target: string;
  deliver(pipeline: CallPipeline, event: StoredEvent): Promise<CallOutcome<unknown>>;
  close(): Promise<void>;
}

export type HandlerSpec =
  | { scheme: 'http'; url: URL; target: string }
  | { scheme: 'nats'; subject: string; target: string }
  | { scheme: 'exec'; command: string; target: string };

/** Parse `--to` (before anything is opened: a bad handler is exit 2 and nothing is sent). */
export function parseHandler(to: string): HandlerSpec {
  if (/^https?:\/\//i.test(to)) {
    let url: URL;
    try {
      url = new URL(to);
    } catch {
      throw new UsageError(`invalid --to URL '${to}'`);
    }
    const shown = new URL(url.href);
    if (shown.password) shown.password = '***';
    return { scheme: 'http', url, target: shown.href };
  }
  if (to.startsWith('nats:')) {
    const subject = to.slice('nats:'.length);
    if (
      subject === '' ||
      /\s/.test(subject) ||
      /(^|\.)(\*|>)(\.|$)/.test(subject) ||
      subject.split('.').some((t) => t === '')
    ) {
      throw new UsageError(`invalid --to subject '${subject}'`, {
        hint: 'a NATS subject without wildcards, e.g. nats:orders.handle',
      });
    }
    return { scheme: 'nats', subject, target: to };
  }
  if (to.startsWith('exec:')) {
    const command = to.slice('exec:'.length).trim();
    if (command === '') throw new UsageError("--to 'exec:' needs a command, e.g. exec:./handle.sh");
    return { scheme: 'exec', command, target: to };
  }
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(to)?.[1];
  throw new UsageError(`unknown --to ${scheme ? `scheme '${scheme}:'` : `handler '${to}'`}`, {
    hint: 'use http(s)://URL, nats:SUBJECT or exec:CMD',
  });
}

/** The JSON body/payload/stdin a handler receives: the stored event as `events read --json` prints it. */
export function eventPayload(event: StoredEvent): Buffer {
  return Buffer.from(JSON.stringify(event), 'utf8');
}

/** Create the handler for a parsed spec, loading only the transport it needs. */
export async function createHandler(
  spec: HandlerSpec,
  options: { natsServer?: string; natsConnection?: Omit<NatsConnectionFlags, 'server'>; timeoutMs: number },
): Promise<EventHandler> {
  switch (spec.scheme) {
    case 'exec': {
      const { ExecHandler } = await import('./exec-handler.js');
      return new ExecHandler(spec.command, spec.target);
    }
    case 'http': {
      const { createHttpHandler } = await import('./http-handler.js');
      return createHttpHandler(spec.url, spec.target);
    }
    case 'nats': {
      const { createNatsHandler } = await import('./nats-handler.js');
      return createNatsHandler(
        spec.subject,
        spec.target,
        {
          ...options.natsConnection,
          ...(options.natsServer !== undefined ? { server: options.natsServer } : {}),
        },
        options.timeoutMs,
      );
    }
  }
}
