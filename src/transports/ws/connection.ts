import type { RawData, WebSocket } from 'ws';
import { performance } from '../../core/clock.js';

/** What happened on an open connection, in order, as the session consumes it. */
export type WsEvent =
  | { type: 'message'; data: Buffer; binary: boolean; at: number }
  | { type: 'pong'; data: Buffer; at: number }
  | { type: 'error'; error: Error }
  | { type: 'close'; code: number; reason: string; at: number };

/**
 * An open WebSocket whose events are queued from the moment the handshake completes until a consumer
 * attaches (the pipeline still has work to do between the 101 and the session: a message sent at once
 * by the server must not be lost).
 */
export class WsConnection {
  readonly socket: WebSocket;
  readonly #queue: WsEvent[] = [];
  #consumer: ((e: WsEvent) => void) | undefined;
  /** Messages go here instead of to the consumer as events (load mode: no event object, no clock read). */
  #onMessage: ((data: Buffer, binary: boolean) => void) | undefined;
  #closed = false;

  constructor(socket: WebSocket) {
    this.socket = socket;
    socket.on('message', (data: RawData, isBinary: boolean) => {
      const onMessage = this.#onMessage;
      if (onMessage) onMessage(toBuffer(data), isBinary);
      else this.#emit({ type: 'message', data: toBuffer(data), binary: isBinary, at: performance.now() });
    });
    socket.on('pong', (data: Buffer) => this.#emit({ type: 'pong', data, at: performance.now() }));
    socket.on('error', (error: Error) => this.#emit({ type: 'error', error }));
    socket.on('close', (code: number, reason: Buffer) => {
      this.#closed = true;
      this.#emit({ type: 'close', code, reason: reason.toString('utf8'), at: performance.now() });
    });
  }

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Deliver queued events, then every later one, to `consumer`; with `onMessage`, later messages go
   * to it instead (queued ones are delivered to `consumer` first, in order).
   */
  attach(consumer: (e: WsEvent) => void, onMessage?: (data: Buffer, binary: boolean) => void): void {
    this.#consumer = consumer;
    for (const e of this.#queue.splice(0)) consumer(e);
    if (onMessage) this.#onMessage = onMessage;
  }

  #emit(e: WsEvent): void {
    if (this.#consumer) this.#consumer(e);
    else this.#queue.push(e);
  }

  /** Drop the connection without a close handshake. */
  terminate(): void {
    this.socket.terminate();
  }
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}
