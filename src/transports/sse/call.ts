import type { Readable } from 'node:stream';
import type { TlsMaterial } from '../../command/tls-options.js';
import type { CallBase } from '../../core/transport.js';

/** One GET of an event stream; a reconnection is a new call with the last event id seen. */
export interface SseCall extends CallBase {
  readonly url: URL;
  readonly headers: Readonly<Record<string, string>>;
  readonly lastEventId?: string;
}

export interface SseTransportOptions {
  tls: TlsMaterial;
}

/** The response to one GET: an open event stream (200 text/event-stream), or what came instead. */
export interface SseResponse {
  status: number;
  statusText: string;
  headers: Record<string, string | string[]>;
  contentType: string;
  /** The open stream, when the response is one (200, text/event-stream). */
  stream?: Readable;
  /** The first 4 KiB of any other response's body. */
  body?: string;
  /**
   * When the attempt that got this response started (its TimingRecorder's start, on core/clock): the
   * session's own phases (`firstEvent`, `total`) are measured from it, as `firstByte` is.
   */
  startedAt: number;
}
