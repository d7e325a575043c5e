import type { TlsMaterial } from '../../command/tls-options.js';
import type { CallBase } from '../../core/transport.js';
import type { WsConnection } from './connection.js';

/** One WebSocket handshake, as parsed from argv: what every (re)connection attempt sends. */
export interface WsCall extends CallBase {
  readonly url: URL;
  readonly headers: Readonly<Record<string, string>>;
  readonly protocols: readonly string[];
  readonly origin?: string;
  readonly tls: TlsMaterial;
  /** HTTP(S)_PROXY from the environment (absent: direct, or NO_PROXY lists the host). */
  readonly proxy?: URL;
}

/**
 * The answer to one handshake: 101 with an open connection, or the HTTP response that refused the
 * upgrade (status, headers, a bounded body).
 */
export interface WsHandshake {
  status: number;
  statusText: string;
  headers: Record<string, string | string[]>;
  /** Negotiated subprotocol ('' when none). */
  protocol?: string;
  /** The refusal's body (first 4 KiB), when the upgrade was refused. */
  body?: string;
  /** Present when the upgrade succeeded. */
  connection?: WsConnection;
  /**
   * When the attempt that opened `connection` started (its TimingRecorder's start, on core/clock):
   * the session's own phases (`firstMessage`, `total`) are measured from it, as `upgrade` is.
   */
  startedAt?: number;
}
