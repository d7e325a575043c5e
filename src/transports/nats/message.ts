import type { Msg, MsgHdrs } from '@nats-io/transport-node';
import { decodeData } from '../../core/message-data.js';
import type { Output } from '../../output/output.js';
import { quoted, visible } from './subject.js';

/**
 * How a received NATS message appears on stdout: human (`[#n] Received on "subject"`, headers, payload),
 * `--raw` (payload only) or `--json` (one object per line). Shared by subscribe, request and reply.
 */

/** Headers as the --json contract shows them: a name with one value is a string, several an array. */
export type HeaderRecord = Record<string, string | string[]>;

export function headersToRecord(h: MsgHdrs | undefined): HeaderRecord | undefined {
  if (!h) return undefined;
  const out: HeaderRecord = {};
  let any = false;
  for (const [k, values] of h) {
    out[k] = values.length === 1 ? (values[0] ?? '') : values;
    any = true;
  }
  return any ? out : undefined;
}

/**
 * The largest header block comms-cli decodes in a received message: 16 KiB (Node's HTTP header
 * limit). The client's header decoder takes time quadratic in the number of headers (100k headers
 * froze a subscriber for 30 s), so a larger block is not decoded at all: the message is shown
 * without its headers and a warning says so.
 */
export const MAX_HEADER_BLOCK = 16 * 1024;

/**
 * Bytes of a received message's header block (0 when it has none), from the sizes nats.js keeps
 * (subject + reply + headers + payload), so nothing is decoded to learn it.
 */
export function headerBlockSize(m: Msg): number {
  // MsgImpl.size() (nats.js 3.x) is not in the Msg interface; without it the block is taken as small.
  const total = (m as Msg & { size?: () => number }).size?.();
  if (total === undefined) return m.headers ? 1 : 0;
  const rest = Buffer.byteLength(m.subject) + (m.reply ? Buffer.byteLength(m.reply) : 0) + m.data.byteLength;
  return Math.max(0, total - rest);
}

/** A message's headers, decoded only when the block is within MAX_HEADER_BLOCK; else how big it was. */
export function boundedHeaders(m: Msg): { headers: MsgHdrs | undefined; dropped?: number } {
  // Subject, reply and headers together within the bound: so is the header block (no decoding of the
  // subject to learn its length; a message without headers has none to decode).
  const total = (m as Msg & { size?: () => number }).size?.();
  if (total !== undefined && total - m.data.byteLength <= MAX_HEADER_BLOCK) return { headers: m.headers };
  const size = headerBlockSize(m);
  if (size === 0) return { headers: undefined };
  if (size > MAX_HEADER_BLOCK) return { headers: undefined, dropped: size };
  return { headers: m.headers };
}

/** The stderr line for a message whose headers were not decoded. */
export function headersDroppedLine(n: number, subject: string, bytes: number): string {
  return `warning: message #${n} on ${quoted(subject)}: its ${bytes.toLocaleString('en-US')}-byte header block is over the ${MAX_HEADER_BLOCK / 1024} KiB limit: headers not decoded or shown`;
}

/** What a delivered message carries, NATS-core or JetStream, in our own shape. */
export interface ReceivedMessage {
  subject: string;
  reply?: string | undefined;
  headers?: MsgHdrs | undefined;
  /** Size of a header block over MAX_HEADER_BLOCK that was not decoded (headers is then undefined). */
  headersDropped?: number;
  data: Uint8Array;
  /** JetStream only. */
  stream?: string;
  seq?: number;
  redelivered?: boolean;
  deliveryCount?: number;
}

/** One --json line for a received message (subscribe, reply). */
export function messageRecord(
  m: ReceivedMessage,
  n: number,
  received: Date = new Date(),
): Record<string, unknown> {
  const headers = headersToRecord(m.headers);
  const { data, encoding } = decodeData(m.data);
  return {
    transport: 'nats',
    type: 'message',
    n,
    subject: m.subject,
    ...(m.reply ? { reply: m.reply } : {}),
    // The contract's field on every message: {} when the message carried none.
    headers: headers ?? {},
    data,
    encoding,
    size: m.data.byteLength,
    received: received.toISOString(),
    ...(m.stream !== undefined ? { stream: m.stream, seq: m.seq } : {}),
    ...(m.redelivered ? { redelivered: true, deliveryCount: m.deliveryCount } : {}),
  };
}

export interface RenderOptions {
  raw: boolean;
  /**
   * Resolve only once stdout handed the message to the OS (not when it was merely buffered): for
   * JetStream messages, which are acknowledged after this returns. Core messages take the fast path.
   */
  durable?: boolean;
}

/** Write one received message to stdout (with backpressure) in the mode the user chose. */
export async function writeMessage(
  out: Output,
  m: ReceivedMessage,
  n: number,
  { raw, durable = false }: RenderOptions,
): Promise<void> {
  // Writes complete in order, so waiting for the last chunk of a message waits for all of it.
  const last = (chunk: string | Uint8Array) => (durable ? out.written(chunk) : out.data(chunk));
  if (m.headersDropped !== undefined && !out.options.quiet)
    out.err.write(`${out.c.yellow(headersDroppedLine(n, m.subject, m.headersDropped))}\n`);
  if (out.options.json) {
    if (durable) await out.jsonWritten(messageRecord(m, n));
    else await out.json(messageRecord(m, n));
    return;
  }
  const payload = Buffer.from(m.data.buffer, m.data.byteOffset, m.data.byteLength);
  const newline = payload.length > 0 && payload[payload.length - 1] === 0x0a ? '' : '\n';
  if (raw) {
    await last(newline ? Buffer.concat([payload, Buffer.from(newline)]) : payload);
    return;
  }
  const c = out.cOut;
  const extra: string[] = [];
  // Subject, reply, stream and headers come from the peer: control characters are escaped (a header
  // value must not clear the screen); the payload is data and stays byte-exact.
  if (m.reply) extra.push(`reply ${quoted(m.reply)}`);
  if (m.stream !== undefined)
    extra.push(`stream ${visible(m.stream)} seq ${m.seq}${m.redelivered ? ' (redelivered)' : ''}`);
  let head = `${c.dim(`[#${n}]`)} Received on ${c.bold(quoted(m.subject))}${extra.length ? ` ${c.dim(extra.join(' · '))}` : ''}\n`;
  const headers = headersToRecord(m.headers);
  if (headers) {
    for (const [k, v] of Object.entries(out.safe(headers))) {
      for (const value of Array.isArray(v) ? v : [v]) head += `${c.cyan(visible(k))}: ${visible(value)}\n`;
    }
  }
  await out.data(`${head}\n`);
  await last(Buffer.concat([payload, Buffer.from(`${newline}\n`)]));
}

/** Raw bytes of a message as a Buffer view (no copy). */
export function asBuffer(data: Uint8Array): Buffer {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}
