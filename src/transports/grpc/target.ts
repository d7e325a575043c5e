import { UsageError } from '../../errors/comms-error.js';

/** A gRPC target as the user wrote it, split into what the channel needs. */
export interface GrpcTarget {
  /** `host:port` (or `unix:/path`) handed to grpc-js. */
  address: string;
  host: string;
  port: number | undefined;
  /** `grpcs://` asks for TLS. */
  tls: boolean;
  /** How results name it: `host:port`. */
  display: string;
}

/**
 * Parse `host:port`, `grpc://host:port`, `grpcs://host[:port]` (TLS, default port 443),
 * `[::1]:50051` or `unix:/path/to/socket`. A plaintext target must name its port.
 */
export function parseGrpcTarget(text: string): GrpcTarget {
  const raw = text.trim();
  if (raw.startsWith('unix:') && raw.replace(/^unix:(\/\/)?/, '') === '')
    throw new UsageError(`gRPC target '${text}' has no socket path`, { hint: 'write unix:/path/to/socket' });
  if (raw.startsWith('unix:')) return { address: raw, host: raw, port: undefined, tls: false, display: raw };
  const m = /^(?:(grpcs?|https?):\/\/)?(\[[0-9a-fA-F:.]+\]|[^:/\s[\]]+)(?::(\d+))?\/?$/.exec(raw);
  if (!m) {
    throw new UsageError(`invalid gRPC target '${text}'`, {
      hint: 'write host:port (e.g. 127.0.0.1:50051), or grpcs://host for TLS',
    });
  }
  const scheme = m[1];
  const host = m[2] ?? '';
  const tls = scheme === 'grpcs' || scheme === 'https';
  const port = m[3] !== undefined ? Number(m[3]) : tls ? 443 : undefined;
  if (port === undefined) {
    throw new UsageError(`gRPC target '${text}' has no port`, {
      hint: `write ${host}:PORT (plaintext), or grpcs://${host} for TLS on 443`,
    });
  }
  if (port < 1 || port > 65535) throw new UsageError(`invalid port ${port} in gRPC target '${text}'`);
  const display = `${host}:${port}`;
  return { address: display, host: host.replace(/^\[|\]$/g, ''), port, tls, display };
}
