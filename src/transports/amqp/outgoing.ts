import type { Channel, Options } from 'amqplib';
import { parseHeader, readPayload } from '../../core/input.js';
import { expandTemplate, hasTemplate } from '../../core/template.js';
import { UsageError } from '../../errors/comms-error.js';
import type { OutgoingAmqp } from './call.js';
import { checkShortString } from './connection.js';

/** The message options publish and request share (see MESSAGE_OPTIONS in flags.ts). */
export interface MessageValues {
  routingKey: string | undefined;
  data: string | undefined;
  header: string[];
  contentType: string | undefined;
  correlationId: string | undefined;
  messageId: string | undefined;
  persistent: boolean;
  expiration: number | undefined;
  priority: number | undefined;
}

/** Where messages go: an exchange with a routing key, or a queue through the default exchange. */
export interface Destination {
  kind: 'exchange' | 'queue';
  name: string;
}

export function destinationOf(target: string, routingKey: string | undefined): Destination {
  if (routingKey === undefined) {
    if (target === '')
      throw new UsageError('empty queue name', { hint: 'give a queue, or an exchange with -r KEY' });
    checkShortString(target, 'queue name');
    return { kind: 'queue', name: target };
  }
  // '' and amq.default both name the default exchange.
  const name = target === 'amq.default' ? '' : target;
  checkShortString(name, 'exchange name');
  checkShortString(expandTemplate(routingKey, 1), 'routing key');
  return { kind: 'exchange', name };
}

/**
 * Builds the n-th message from the options, with templates ({{seq}}, {{uuid}}, {{time}}, {{unix}}) in
 * the routing key, payload, headers, message id and correlation id; everything is checked here,
 * before anything is sent.
 */
export async function messageMaker(
  dest: Destination,
  values: MessageValues,
  payloadArg: string | undefined,
  stdin: NodeJS.ReadableStream,
  { lines = false, mandatory = false }: { lines?: boolean; mandatory?: boolean } = {},
): Promise<(seq: number, data?: Buffer) => OutgoingAmqp> {
  if (payloadArg !== undefined && values.data !== undefined)
    throw new UsageError('give the payload either as an argument or with -d, not both');
  if (lines && (payloadArg !== undefined || values.data !== undefined))
    throw new UsageError('--lines reads the payloads from stdin: drop the payload argument and -d');
  const headers = values.header.map((h) => parseHeader(h, '-H'));
  const spec = values.data ?? payloadArg;
  const payload =
    spec === undefined
      ? Buffer.alloc(0)
      : await readPayload(spec, values.data !== undefined ? '-d' : 'payload', stdin);
  const payloadText = hasTemplate(payload.toString('utf8')) ? payload.toString('utf8') : undefined;
  const keyTemplate = dest.kind === 'queue' ? dest.name : (values.routingKey ?? '');
  const base: Options.Publish = {
    ...(values.contentType ? { contentType: values.contentType } : {}),
    ...(values.persistent ? { persistent: true } : {}),
    ...(values.expiration !== undefined ? { expiration: String(values.expiration) } : {}),
    ...(values.priority !== undefined ? { priority: values.priority } : {}),
    ...(mandatory ? { mandatory: true } : {}),
  };
  const make = (seq: number, data?: Buffer): OutgoingAmqp => {
    const now = new Date();
    const x = (t: string) => expandTemplate(t, seq, now);
    const routingKey = x(keyTemplate);
    if (routingKey !== keyTemplate)
      checkShortString(routingKey, dest.kind === 'queue' ? 'queue name' : 'routing key');
    return {
      exchange: dest.kind === 'queue' ? '' : dest.name,
      routingKey,
      content: data ?? (payloadText !== undefined ? Buffer.from(x(payloadText)) : payload),
      options: {
        ...base,
        ...(headers.length ? { headers: Object.fromEntries(headers.map(([k, v]) => [x(k), x(v)])) } : {}),
        ...(values.messageId !== undefined ? { messageId: x(values.messageId) } : {}),
        ...(values.correlationId !== undefined ? { correlationId: x(values.correlationId) } : {}),
      },
    };
  };
  // Nothing to expand (the common case, and --count's): build the message once. A 20,000-message
  // batch otherwise paid a Date, the template checks and the option spreads per message.
  const templated = [keyTemplate, ...headers.flat(), values.messageId ?? '', values.correlationId ?? ''].some(
    hasTemplate,
  );
  if (templated || payloadText !== undefined) return make;
  const fixed = make(1);
  return (_seq, data) => (data === undefined ? fixed : { ...fixed, content: data });
}

export interface DeclareValues {
  declare: boolean;
  durable: boolean;
  exclusive: boolean;
  autoDelete: boolean;
  exchangeType: 'direct' | 'fanout' | 'topic' | 'headers' | undefined;
}

/** The shape options only mean something with --declare. */
export function checkDeclare(values: DeclareValues, dest: Destination): void {
  if (!values.declare) {
    for (const [flag, set] of [
      ['--durable', values.durable],
      ['--exclusive', values.exclusive],
      ['--auto-delete', values.autoDelete],
      ['--exchange-type', values.exchangeType !== undefined],
    ] as const)
      if (set) throw new UsageError(`${flag} needs --declare`);
    return;
  }
  if (dest.kind === 'exchange' && dest.name === '')
    throw new UsageError('the default exchange cannot be declared');
  if (dest.name.startsWith('amq.'))
    throw new UsageError(`'${dest.name}': names starting with amq. are reserved for the broker`);
  if (dest.kind === 'queue' && values.exchangeType !== undefined)
    throw new UsageError('--exchange-type is for exchanges (with -r/--routing-key)');
}

/**
 * What runs on the first channel before anything is sent: --declare declares the destination;
 * without it a queue is checked (passive declare) so a missing one is a 404 with the broker's text
 * instead of a message silently dropped by the default exchange.
 */
export function setupFor(
  dest: Destination,
  values: DeclareValues,
): ((ch: Channel) => Promise<void>) | undefined {
  if (values.declare) {
    if (dest.kind === 'queue')
      return async (ch) => {
        await ch.assertQueue(dest.name, {
          durable: values.durable,
          exclusive: values.exclusive,
          autoDelete: values.autoDelete,
        });
      };
    return async (ch) => {
      await ch.assertExchange(dest.name, values.exchangeType ?? 'direct', {
        durable: values.durable,
        autoDelete: values.autoDelete,
      });
    };
  }
  if (dest.kind === 'queue' && !hasTemplate(dest.name))
    return async (ch) => {
      await ch.checkQueue(dest.name);
    };
  if (dest.kind === 'exchange' && dest.name !== '')
    return async (ch) => {
      await ch.checkExchange(dest.name);
    };
  return undefined;
}
