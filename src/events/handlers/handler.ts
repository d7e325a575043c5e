import { UsageError } from '../../errors/comms-error.js';
import { redactUrl } from '../../output/redact.js';
import type { NatsStoreValues } from '../flags.js';
import { type AmqpHandlerSpec, type MqttHandlerSpec, parseAmqpTo, parseMqttTo } from './broker-specs.js';
import type { EventHandler } from './event-handler.js';

/*
 * This file is the only importer of the handlers (each loaded when its scheme is asked for, so the
 * client library of one scheme never loads for another); they import what they share from
 * event-handler.ts, so there is no import circle.
 */

export type HandlerSpec =
  | { scheme: 'http'; url: URL; target: string }
  | { scheme: 'nats'; subject: string; target: string }
  | { scheme: 'exec'; command: string; target: string }
  | { scheme: 'ws'; url: URL; target: string }
  | AmqpHandlerSpec
  | MqttHandlerSpec;

const HANDLER_HINT =
  'use http(s)://URL, ws(s)://URL, amqp(s)://…?queue=Q, mqtt(s)://host/TOPIC, nats:SUBJECT or exec:CMD';

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
  if (/^wss?:\/\//i.test(to)) {
    let url: URL;
    try {
      url = new URL(to);
    } catch {
      throw new UsageError(`invalid --to URL '${redactUrl(to)}'`);
    }
    if (url.hash !== '')
      throw new UsageError(`invalid --to URL '${redactUrl(to)}': a WebSocket URL has no #fragment`);
    return { scheme: 'ws', url, target: redactUrl(url.href) };
  }
  if (/^amqps?:\/\//i.test(to)) return parseAmqpTo(to);
  if (/^mqtts?:\/\//i.test(to)) return parseMqttTo(to);
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
    hint: HANDLER_HINT,
  });
}

/** Create the handler for a parsed spec, loading only the transport it needs. */
export async function createHandler(
  spec: HandlerSpec,
  options: { natsServer?: string; natsConnection?: NatsStoreValues; timeoutMs: number },
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
    case 'ws': {
      const { createWsHandler } = await import('./ws-handler.js');
      return createWsHandler(spec.url, spec.target);
    }
    case 'amqp': {
      const { createAmqpHandler } = await import('./amqp-handler.js');
      return createAmqpHandler(spec, options.timeoutMs);
    }
    case 'mqtt': {
      const { createMqttHandler } = await import('./mqtt-handler.js');
      return createMqttHandler(spec, options.timeoutMs);
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
