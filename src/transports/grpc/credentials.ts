import { createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { ChannelCredentials, ChannelOptions } from '@grpc/grpc-js';
import { UsageError } from '../../errors/comms-error.js';
import type { GrpcTarget } from './target.js';

/** The transport-security flags of `grpc call/list/describe/health`. */
export interface GrpcTlsFlags {
  tls?: boolean;
  cacert?: string;
  cert?: string;
  key?: string;
  insecure?: boolean;
  authority?: string;
  servername?: string;
}

type GrpcModule = typeof import('@grpc/grpc-js');

function readPem(path: string, flag: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UsageError(
      `cannot read ${flag} file '${path}': ${code === 'ENOENT' ? 'no such file' : (err as Error).message}`,
      { cause: err },
    );
  }
}

/** True when the flags or the target ask for TLS: plaintext is the default, as with grpcurl -plaintext. */
export function wantsTls(flags: GrpcTlsFlags, target: GrpcTarget): boolean {
  return Boolean(
    target.tls || flags.tls || flags.cacert || flags.cert || flags.key || flags.insecure || flags.servername,
  );
}

/**
 * Channel credentials and options from the TLS flags. `-k` skips certificate and name checks;
 * `--servername` overrides the name checked (and sent as SNI); `--authority` sets the :authority header.
 */
export function channelSetup(
  grpc: GrpcModule,
  flags: GrpcTlsFlags,
  target: GrpcTarget,
): { credentials: ChannelCredentials; options: ChannelOptions } {
  const options: ChannelOptions = {
    'grpc.primary_user_agent': 'comms-cli',
    // comms-cli's own retry policy decides; grpc-js' transparent retries would hide attempts.
    'grpc.enable_retries': 0,
    'grpc.initial_reconnect_backoff_ms': 100,
    'grpc.max_reconnect_backoff_ms': 1000,
    'grpc.max_receive_message_length': 64 * 1024 * 1024,
  };
  if (flags.authority) options['grpc.default_authority'] = flags.authority;
  if (!wantsTls(flags, target)) {
    if (flags.cert || flags.key) throw new UsageError('--cert/--key need TLS (add --tls)');
    return { credentials: grpc.credentials.createInsecure(), options };
  }
  if (Boolean(flags.cert) !== Boolean(flags.key))
    throw new UsageError('mutual TLS needs both --cert FILE and --key FILE');
  const ca = flags.cacert ? readPem(flags.cacert, '--cacert') : null;
  const key = flags.key ? readPem(flags.key, '--key') : null;
  const cert = flags.cert ? readPem(flags.cert, '--cert') : null;
  checkPems(flags, ca, key, cert);
  if (flags.servername) options['grpc.ssl_target_name_override'] = flags.servername;
  if (!flags.servername && isIP(target.host)) quietIpServernameWarning();
  const verify = flags.insecure ? { rejectUnauthorized: false, checkServerIdentity: () => undefined } : {};
  try {
    return { credentials: grpc.credentials.createSsl(ca, key, cert, verify), options };
  } catch (err) {
    throw new UsageError(`invalid TLS files: ${oneLine(err)}`, { cause: err });
  }
}

function oneLine(err: unknown): string {
  const text = (err as Error).message ?? String(err);
  return (/SSL routines:[^:]*:([^:]+)/.exec(text)?.[1] ?? text).split('\n')[0] as string;
}

/**
 * Bad TLS files are bad input (exit 2, nothing sent), not an OpenSSL error after connecting: each file
 * must hold what its flag says, and the client certificate must match the key.
 */
function checkPems(flags: GrpcTlsFlags, ca: Buffer | null, key: Buffer | null, cert: Buffer | null): void {
  let certificate: X509Certificate | undefined;
  if (ca) {
    try {
      new X509Certificate(ca);
    } catch (err) {
      throw new UsageError(`--cacert '${flags.cacert}' is not a PEM certificate: ${oneLine(err)}`);
    }
  }
  if (cert) {
    try {
      certificate = new X509Certificate(cert);
    } catch (err) {
      throw new UsageError(`--cert '${flags.cert}' is not a PEM certificate: ${oneLine(err)}`);
    }
  }
  if (key) {
    let privateKey: KeyObject;
    try {
      privateKey = createPrivateKey(key);
    } catch (err) {
      throw new UsageError(`--key '${flags.key}' is not a PEM private key: ${oneLine(err)}`);
    }
    if (certificate && !certificate.checkPrivateKey(privateKey))
      throw new UsageError(`--cert '${flags.cert}' and --key '${flags.key}' do not match`, {
        hint: 'pass the private key that belongs to this client certificate',
      });
  }
}

let quieted = false;
/**
 * grpc-js sends the target host as TLS SNI even when it is an IP address, and Node warns about that
 * (DEP0123) on stderr in the middle of our output. The certificate is still checked against the IP;
 * only that one warning is dropped.
 */
function quietIpServernameWarning(): void {
  if (quieted) return;
  quieted = true;
  const original = process.emitWarning.bind(process);
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    const code =
      typeof rest[0] === 'object' && rest[0] !== null ? (rest[0] as { code?: string }).code : rest[1];
    if (code === 'DEP0123') return;
    (original as (w: string | Error, ...r: unknown[]) => void)(warning, ...rest);
  }) as typeof process.emitWarning;
}
