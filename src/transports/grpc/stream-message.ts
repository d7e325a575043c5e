import { messageShape } from '../../output/stream-message.js';
import type { GrpcTarget } from './target.js';

/**
 * A response received on a gRPC stream (server or bidi streaming), in the contract's one message
 * shape: `{"type":"message", transport, n, url, headers, data, encoding, size, received}`.
 *
 * - `url` names where the message came from, as `ws` and `sse` do: a gRPC call is an HTTP/2 request
 *   to the target's authority and the method's path, so it is `grpc://host:port/pkg.Service/Method`
 *   (`grpcs://` over TLS; a `unix:` target is written as it was given, then the path). `method`
 *   (`pkg.Service/Method`) is there too, so nobody has to split the url.
 * - `headers` is `{}`: a gRPC message has no headers of its own; the call's response metadata
 *   (headers and trailers) is in the Result object that ends the output.
 * - `data` is the response in proto3 JSON, so `encoding` is always `json`.
 * - `size` is the message's protobuf bytes as received (without the 5-byte gRPC frame prefix).
 */
export function grpcStreamUrl(target: GrpcTarget, path: string): string {
  if (target.address.startsWith('unix:')) return `${target.display}${path}`;
  return `${target.tls ? 'grpcs' : 'grpc'}://${target.display}${path}`;
}

export interface GrpcStreamMessage {
  url: string;
  /** `pkg.Service/Method`. */
  method: string;
  /** 1, 2, 3... in arrival order. */
  n: number;
  data: unknown;
  size: number;
}

export function grpcMessageRecord(
  m: GrpcStreamMessage,
  received: Date = new Date(),
): Record<string, unknown> {
  return messageShape(
    {
      transport: 'grpc',
      n: m.n,
      where: 'url',
      name: m.url,
      headers: {},
      data: m.data,
      encoding: 'json',
      size: m.size,
      received,
    },
    { method: m.method },
  );
}
