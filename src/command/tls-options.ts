import { readFileArg } from '../core/input.js';
import { UsageError } from '../errors/comms-error.js';
import { flag, type OptionValues, path, text } from './option.js';

/** TLS client options shared by every transport that speaks TLS over a URL (http, grpc, ws, amqp, mqtt). */
export const TLS_OPTIONS = {
  cacert: path('--cacert <file>', 'trust this CA certificate (PEM)'),
  cert: path('--cert <file>', 'client certificate for mutual TLS (PEM)'),
  key: path('--key <file>', 'client private key for mutual TLS (PEM)', { secret: true }),
  insecure: flag('-k, --insecure', 'skip TLS certificate verification'),
  servername: text('--servername <name>', 'TLS server name (SNI) to send and verify'),
};
export type TlsValues = OptionValues<typeof TLS_OPTIONS>;

/** The TLS material, read and checked: what a transport's connector takes. */
export interface TlsMaterial {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  insecure: boolean;
  servername?: string;
}

/** Read the files named by the TLS options (exit 2 when one cannot be read or only half a pair is given). */
export function tlsFrom(values: TlsValues): TlsMaterial {
  if (values.cert && !values.key) throw new UsageError('--cert needs --key (the client private key)');
  if (values.key && !values.cert) throw new UsageError('--key needs --cert (the client certificate)');
  return {
    ...(values.cacert ? { ca: readFileArg(values.cacert, '--cacert') } : {}),
    ...(values.cert ? { cert: readFileArg(values.cert, '--cert') } : {}),
    ...(values.key ? { key: readFileArg(values.key, '--key') } : {}),
    insecure: values.insecure,
    ...(values.servername ? { servername: values.servername } : {}),
  };
}
