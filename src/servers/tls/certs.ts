import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
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
  /** With `selfSigned`: a certificate for localhost/127.0.0.1 that the CA did not issue. */
  selfSignedCert?: string;
  selfSignedKey?: string;
}

export interface CertOptions {
  /** Write into this folder instead of a fresh temp folder. */
  dir?: string;
  /** Also make a self-signed server certificate not issued by the CA (to test verification failures). */
  selfSigned?: boolean;
}

/** One step of the recipe: an openssl command, or a small file it reads. */
type Step = { openssl: string[] } | { file: string; text: string };

const KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/**
 * The recipe, as data, so the asynchronous generator (`serve grpc --tls`, which must not block its
 * event loop) and the synchronous one (test set-up) run the same commands: a self-signed CA, then a
 * server and a client certificate signed by it (P-256 keys, valid for 2 days).
 */
function recipe(selfSigned: boolean): Step[] {
  const steps: Step[] = [
    {
      openssl: [
        'req',
        '-x509',
        ...KEY,
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
    },
  ];
  for (const [name, cn, usage, san] of [
    ['server', 'localhost', 'serverAuth', 'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1'],
    ['client', 'comms-cli client', 'clientAuth', ''],
  ] as const) {
    const ext = [
      san,
      'basicConstraints=CA:FALSE',
      'keyUsage=digitalSignature,keyEncipherment',
      `extendedKeyUsage=${usage}`,
    ]
      .filter(Boolean)
      .join('\n');
    steps.push(
      { openssl: ['req', ...KEY, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`] },
      { file: `${name}.ext`, text: `${ext}\n` },
      {
        openssl: [
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
      },
    );
  }
  if (selfSigned) {
    steps.push({
      openssl: [
        'req',
        '-x509',
        ...KEY,
        '-keyout',
        'self.key',
        '-out',
        'self.crt',
        '-days',
        '2',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=DNS:localhost,IP:127.0.0.1',
      ],
    });
  }
  return steps;
}

function opensslError(args: readonly string[], err: unknown): UsageError {
  if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
    return new UsageError('--tls needs the openssl command to generate a certificate, and it was not found', {
      hint: 'install openssl (e.g. apt-get install openssl)',
    });
  }
  const stderr = (err as { stderr?: string | Buffer }).stderr?.toString().trim();
  return new UsageError(`openssl ${args[0]} failed: ${stderr || (err as Error).message}`);
}

function result(dir: string, selfSigned: boolean): GeneratedCerts {
  return {
    dir,
    caCert: join(dir, 'ca.crt'),
    serverCert: join(dir, 'server.crt'),
    serverKey: join(dir, 'server.key'),
    clientCert: join(dir, 'client.crt'),
    clientKey: join(dir, 'client.key'),
    ...(selfSigned ? { selfSignedCert: join(dir, 'self.crt'), selfSignedKey: join(dir, 'self.key') } : {}),
  };
}

/**
 * Generate a throwaway CA and certificates signed by it with the openssl command into a fresh temp
 * folder (or `options.dir`). Used by `serve grpc --tls` and, through test/helpers/certs.ts, the tests.
 */
export async function generateCerts(options: CertOptions = {}): Promise<GeneratedCerts> {
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'comms-cli-tls-'));
  for (const step of recipe(options.selfSigned === true)) {
    if ('file' in step) {
      writeFileSync(join(dir, step.file), step.text);
      continue;
    }
    try {
      await run('openssl', step.openssl, { cwd: dir });
    } catch (err) {
      throw opensslError(step.openssl, err);
    }
  }
  return result(dir, options.selfSigned === true);
}

/** The same as generateCerts, blocking: for test set-up that cannot await. */
export function generateCertsSync(options: CertOptions = {}): GeneratedCerts {
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'comms-cli-tls-'));
  for (const step of recipe(options.selfSigned === true)) {
    if ('file' in step) {
      writeFileSync(join(dir, step.file), step.text);
      continue;
    }
    try {
      execFileSync('openssl', step.openssl, { cwd: dir, stdio: 'pipe' });
    } catch (err) {
      throw opensslError(step.openssl, err);
    }
  }
  return result(dir, options.selfSigned === true);
}
