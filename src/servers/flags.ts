import { duration, flag, fraction, integer, type OptionValues, text } from '../command/option.js';
import { OUTPUT_OPTIONS } from '../command/shared-options.js';

const port = (what: string) =>
  integer('--port <port>', `port to listen on (0 = random; ${what} is printed on stdout first)`, {
    default: 0,
    max: 65535,
  });
const host = () => text('--host <host>', 'address to bind', { default: '127.0.0.1' });

/** `comms-cli serve http` options. */
export const SERVE_HTTP_OPTIONS = {
  port: port('the URL'),
  host: host(),
  failRate: fraction(
    '--fail-rate <fraction>',
    'answer this fraction of requests (0.3 or 30%) with --fail-status',
  ),
  failStatus: integer('--fail-status <code>', 'status for injected failures', {
    default: 503,
    min: 100,
    max: 599,
  }),
  delay: duration('--delay <dur>', 'add this latency to every request'),
  jitter: duration('--jitter <dur>', 'add up to this much random extra latency'),
  ...OUTPUT_OPTIONS,
};
export type ServeHttpValues = OptionValues<typeof SERVE_HTTP_OPTIONS>;

/** `comms-cli serve grpc` options. */
export const SERVE_GRPC_OPTIONS = {
  port: port('host:port'),
  host: host(),
  failRate: fraction(
    '--fail-rate <fraction>',
    'fail this fraction of Inventory calls (0.3 or 30%) with --fail-code',
  ),
  failCode: text('--fail-code <code>', 'status for injected failures (name or number)', {
    default: 'UNAVAILABLE',
  }),
  delay: duration('--delay <dur>', 'add this latency to every Inventory call'),
  tls: flag('--tls', 'serve TLS with a generated self-signed CA (its path is printed on stderr)'),
  mtls: flag('--mtls', 'like --tls, and require client certificates (a client cert/key is generated too)'),
  reflection: flag('--no-reflection', 'do not offer server reflection'),
  ...OUTPUT_OPTIONS,
};
export type ServeGrpcValues = OptionValues<typeof SERVE_GRPC_OPTIONS>;
