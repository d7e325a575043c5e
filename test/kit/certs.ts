import { readFileSync } from 'node:fs';
import { generateCertsSync } from '../../src/servers/tls/certs.js';

export interface TestCerts {
  dir: string;
  /** PEM paths */
  caCert: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** A self-signed server certificate not issued by the CA. */
  selfSignedCert: string;
  selfSignedKey: string;
  read(path: string): Buffer;
}

/**
 * A throwaway CA, a server certificate for localhost/127.0.0.1, a client certificate and a
 * self-signed one, made at test time by the same generator as `serve grpc --tls` (nothing secret is
 * committed).
 */
export function makeCerts(): TestCerts {
  const c = generateCertsSync({ selfSigned: true });
  if (!c.selfSignedCert || !c.selfSignedKey) throw new Error('no self-signed certificate was generated');
  return {
    ...c,
    selfSignedCert: c.selfSignedCert,
    selfSignedKey: c.selfSignedKey,
    read: (path) => readFileSync(path),
  };
}
