import { execFile } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { UsageError } from '../../errors/comms-error.js';

const run = promisify(execFile);

/** PEM files of a throwaway CA, a server certificate for localhost/127.0.0.1/::1, and a client certificate. */
export interface GeneratedCerts {
  dir: string;
  caCert: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
}

async function openssl(args: string[], cwd: string): Promise<void> {
  try {
    await run('openssl', args, { cwd });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new UsageError(
        '--tls needs the openssl command to generate a certificate, and it was not found',
        {
          hint: 'install openssl (e.g. apt-get install openssl)',
        },
      );
    }
    throw new UsageError(
      `openssl ${args[0]} failed: ${(err as { stderr?: string }).stderr?.trim() ?? (err as Error).message}`,
    );
  }
}

/**
 * Generate a self-signed CA and certificates signed by it with the openssl command (P-256 keys,
 * valid for 2 days) into a fresh temp folder, or into `dir` when given. Used by `serve grpc --tls`
 * and by the tests.
 */
export async function generateCerts(dir?: string): Promise<GeneratedCerts> {
  const d = dir ?? (await mkdtemp(join(tmpdir(), 'comms-cli-tls-')));
  const key = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await openssl(
    [
      'req',
      '-x509',
      ...key,
      '-keyout',
      'ca.key',
      '-out',
      'ca.crt',
      '-days',
      '2',
      '-subj',
      '/CN=comms-cli test CA',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ],
    d,
  );
  for (const [name, cn, usage, san] of [
    ['server', 'localhost', 'serverAuth', 'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1'],
    ['client', 'comms-cli client', 'clientAuth', ''],
  ] as const) {
    await openssl(['req', ...key, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`], d);
    const ext = [
      san,
      'basicConstraints=CA:FALSE',
      'keyUsage=digitalSignature,keyEncipherment',
      `extendedKeyUsage=${usage}`,
    ]
      .filter(Boolean)
      .join('\n');
    await writeFile(join(d, `${name}.ext`), `${ext}\n`);
    await openssl(
      [
        'x509',
        '-req',
        '-in',
        `${name}.csr`,
        '-CA',
        'ca.crt',
        '-CAkey',
        'ca.key',
        '-CAcreateserial',
        '-out',
        `${name}.crt`,
        '-days',
        '2',
        '-extfile',
        `${name}.ext`,
      ],
      d,
    );
  }
  return {
    dir: d,
    caCert: join(d, 'ca.crt'),
    serverCert: join(d, 'server.crt'),
    serverKey: join(d, 'server.key'),
    clientCert: join(d, 'client.crt'),
    clientKey: join(d, 'client.key'),
  };
}

/** Read a generated set into the buffers grpc-js wants. */
export async function readCerts(c: GeneratedCerts): Promise<{ ca: Buffer; cert: Buffer; key: Buffer }> {
  const [ca, cert, key] = await Promise.all([
    readFile(c.caCert),
    readFile(c.serverCert),
    readFile(c.serverKey),
  ]);
  return { ca, cert, key };
}
