import { decodeData } from '../core/message-data.js';
import type { Output } from './output.js';

/**
 * A message received on a stream (AMQP, MQTT; NATS has its own copy until its slice moves to this one),
 * in the contract's one shape: `{"type":"message", transport, n, subject|topic|queue, headers, data,
 * encoding?, size, received}`, and how a person sees it.
 */

/** Headers as the --json contract shows them: a name with one value is a string, several an array. */
export type HeaderRecord = Record<string, string | string[]>;

/** Raw bytes of a message as a Buffer view (no copy). */
export function asBuffer(data: Uint8Array): Buffer {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

/** What a transport hands over for one received message. */
export interface StreamMessage {
  /** The contract's location field and its value: `queue`, `topic`, `subject`. */
  where: 'queue' | 'topic' | 'subject';
  name: string;
  headers?: HeaderRecord | undefined;
  data: Uint8Array;
  /** Transport-specific fields appended to the --json line (exchange, routingKey, retained...). */
  extra?: Record<string, unknown>;
  /** Short notes for the human header line (`routing key a.b`, `retained`, `redelivered`). */
  notes?: readonly string[];
  /** Properties a person sees with the headers (`content-type`, `correlation-id`...). */
  properties?: Record<string, string>;
}

/** The contract's fields of a received message, whatever carried it. */
export interface MessageFields {
  transport: string;
  n: number;
  /** The location field and its value: `subject`, `topic`, `queue` or `url`. */
  where: 'subject' | 'topic' | 'queue' | 'url';
  name: string;
  headers: Readonly<Record<string, unknown>>;
  data: unknown;
  encoding?: string | undefined;
  size: number;
  received: Date;
}

/**
 * The contract's one message shape, `{"type":"message", transport, n, subject|topic|queue|url,
 * headers, data, encoding?, size, received}`, then a transport's own fields (`extra`).
 */
export function messageShape(f: MessageFields, extra?: Record<string, unknown>): Record<string, unknown> {
  return {
    type: 'message',
    transport: f.transport,
    n: f.n,
    [f.where]: f.name,
    headers: f.headers,
    data: f.data,
    ...(f.encoding !== undefined ? { encoding: f.encoding } : {}),
    size: f.size,
    received: f.received.toISOString(),
    ...extra,
  };
}

/** One --json line for a received message. */
export function messageRecord(
  transport: string,
  m: StreamMessage,
  n: number,
  received: Date = new Date(),
): Record<string, unknown> {
  const { data, encoding } = decodeData(m.data);
  return messageShape(
    {
      transport,
      n,
      where: m.where,
      name: m.name,
      headers: m.headers ?? {},
      data,
      encoding,
      size: m.data.byteLength,
      received,
    },
    {
      ...(m.properties && Object.keys(m.properties).length ? { properties: m.properties } : {}),
      ...m.extra,
    },
  );
}

export interface WriteOptions {
  /** Payload only, one per line. */
  raw: boolean;
  /**
   * Resolve only once stdout handed the message to the OS (not when it was merely buffered): for
   * messages acknowledged after this returns, so a crash after the ack cannot lose one.
   */
  durable: boolean;
}

/** Write one received message to stdout (with backpressure) in the mode the user chose. */
export async function writeStreamMessage(
  out: Output,
  transport: string,
  m: StreamMessage,
  n: number,
  { raw, durable }: WriteOptions,
): Promise<void> {
  const last = (chunk: string | Uint8Array) => (durable ? out.written(chunk) : out.data(chunk));
  if (out.options.json) {
    const record = messageRecord(transport, m, n);
    if (durable) await out.jsonWritten(record);
    else await out.json(record);
    return;
  }
  const payload = asBuffer(m.data);
  const newline = payload.length > 0 && payload[payload.length - 1] === 0x0a ? '' : '\n';
  if (raw) {
    await last(newline ? Buffer.concat([payload, Buffer.from(newline)]) : payload);
    return;
  }
  const c = out.cOut;
  const notes = m.notes?.length ? ` ${c.dim(m.notes.join(' · '))}` : '';
  let head = `${c.dim(`[#${n}]`)} Received on ${m.where} ${c.bold(JSON.stringify(m.name))}${notes}\n`;
  for (const [k, v] of Object.entries(m.properties ?? {})) head += `${c.dim(k)}: ${v}\n`;
  if (m.headers) {
    for (const [k, v] of Object.entries(out.safe(m.headers))) {
      for (const value of Array.isArray(v) ? v : [v]) head += `${c.cyan(k)}: ${value}\n`;
    }
  }
  await out.data(`${head}\n`);
  await last(Buffer.concat([payload, Buffer.from(`${newline}\n`)]));
}

const NEWLINE = Buffer.from('\n');

/**
 * How a responder (amqp reply, mqtt reply) prints the requests it answers, in arrival order. With
 * --raw (not --json) a payload is one write: while nothing is queued it goes out at once, with no
 * promise per request (the responders' hot path). Other forms are two writes, chained in order.
 */
export class RequestPrinter<M> {
  readonly #out: Output;
  readonly #transport: string;
  readonly #raw: boolean;
  readonly #rawText: boolean;
  readonly #message: (m: M) => StreamMessage;
  readonly #payload: (m: M) => Buffer;
  #chain: Promise<void> = Promise.resolve();
  /** Writes chained behind #chain and not done yet. */
  #queued = 0;

  constructor(
    out: Output,
    transport: string,
    raw: boolean,
    message: (m: M) => StreamMessage,
    payload: (m: M) => Buffer,
  ) {
    this.#out = out;
    this.#transport = transport;
    this.#raw = raw;
    this.#rawText = raw && !out.options.json;
    this.#message = message;
    this.#payload = payload;
  }

  print(m: M, seq: number): void {
    if (this.#rawText && this.#queued === 0) {
      const p = this.#payload(m);
      void this.#out
        .data(p.length > 0 && p[p.length - 1] === 0x0a ? p : Buffer.concat([p, NEWLINE]))
        .catch(() => undefined);
      return;
    }
    this.#queued += 1;
    this.#chain = this.#chain.then(() =>
      writeStreamMessage(this.#out, this.#transport, this.#message(m), seq, {
        raw: this.#raw,
        durable: false,
      })
        .catch(() => undefined)
        .finally(() => {
          this.#queued -= 1;
        }),
    );
  }

  /** Resolves when every chained write is done. */
  drained(): Promise<void> {
    return this.#chain;
  }
}
