import { createPrivateKey, X509Certificate } from 'node:crypto';
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
  const ca = values.cacert ? readFileArg(values.cacert, '--cacert') : undefined;
  const cert = values.cert ? readFileArg(values.cert, '--cert') : undefined;
  const key = values.key ? readFileArg(values.key, '--key') : undefined;
  if (ca && values.cacert) readCertificate(ca, `--cacert '${values.cacert}'`);
  if (cert && key && values.cert && values.key) checkPair(cert, key, values.cert, values.key);
  return {
    ...(ca ? { ca } : {}),
    ...(cert ? { cert } : {}),
    ...(key ? { key } : {}),
    insecure: values.insecure,
    ...(values.servername ? { servername: values.servername } : {}),
  };
}

/** A PEM certificate, or exit 2 naming the flag: a key or any other file is not one. */
function readCertificate(pem: Buffer, what: string): X509Certificate {
  if (!pem.includes('-----BEGIN CERTIFICATE-----'))
    throw new UsageError(`${what} is not a PEM certificate (no BEGIN CERTIFICATE block)`);
  try {
    return new X509Certificate(pem);
  } catch (err) {
    throw new UsageError(`${what} is not a valid certificate: ${(err as Error).message}`);
  }
}

/** --cert and --key must be a pair: checked before anything is sent (exit 2 naming both). */
function checkPair(certPem: Buffer, keyPem: Buffer, certFile: string, keyFile: string): void {
  const cert = readCertificate(certPem, `--cert '${certFile}'`);
  let key: ReturnType<typeof createPrivateKey>;
  try {
    key = createPrivateKey(keyPem);
  } catch (err) {
    throw new UsageError(`--key '${keyFile}' is not a PEM private key: ${(err as Error).message}`);
  }
  if (!cert.checkPrivateKey(key))
    throw new UsageError(
      `--cert '${certFile}' and --key '${keyFile}' do not match: the key is not the certificate's`,
      {
        hint: 'pass the private key that belongs to the client certificate',
      },
    );
}
