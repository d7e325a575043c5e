import { createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import type { ChannelCredentials, ChannelOptions } from '@grpc/grpc-js';
import { type TlsMaterial, tlsFrom } from '../../command/tls-options.js';
import { UsageError } from '../../errors/comms-error.js';
import type { GrpcTlsValues } from './flags.js';
import type { GrpcTarget } from './target.js';

type GrpcModule = typeof import('@grpc/grpc-js');

/** A channel's transport security, read and checked once from the TLS options (nothing sent yet). */
export interface GrpcSecurity {
  /** Absent: plaintext. */
  readonly tls?: TlsMaterial;
  /** The :authority header (virtual host) to send. */
  readonly authority?: string;
}

/** True when the options or the target ask for TLS: plaintext is the default, as with grpcurl -plaintext. */
function wantsTls(values: GrpcTlsValues, target: GrpcTarget): boolean {
  return Boolean(
    target.tls ||
      values.tls ||
      values.cacert ||
      values.cert ||
      values.key ||
      values.insecure ||
      values.servername,
  );
}

/**
 * The TLS options turned into what the channel needs: the PEM files read (exit 2 when one cannot be
 * read) and checked to hold what their flag says, before anything is sent.
 */
export function grpcSecurityFrom(values: GrpcTlsValues, target: GrpcTarget): GrpcSecurity {
  const authority = values.authority ? { authority: values.authority } : {};
  if (!wantsTls(values, target)) return authority;
  if (values.plaintext)
    throw new UsageError(
      '--plaintext conflicts with TLS (--tls, grpcs://, --cacert, --cert/--key, -k, --servername)',
    );
  if (Boolean(values.cert) !== Boolean(values.key))
    throw new UsageError('mutual TLS needs both --cert FILE and --key FILE');
  const tls = tlsFrom(values);
  checkPems(values, tls);
  return { tls, ...authority };
}

/**
 * Channel credentials and options. `-k` skips certificate and name checks; `--servername` overrides
 * the name checked (and sent as SNI); `--authority` sets the :authority header.
 */
export function channelSetup(
  grpc: GrpcModule,
  security: GrpcSecurity,
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
  if (security.authority) options['grpc.default_authority'] = security.authority;
  const { tls } = security;
  if (!tls) return { credentials: grpc.credentials.createInsecure(), options };
  if (tls.servername) options['grpc.ssl_target_name_override'] = tls.servername;
  if (!tls.servername && isIP(target.host)) quietIpServernameWarning();
  const verify = tls.insecure ? { rejectUnauthorized: false, checkServerIdentity: () => undefined } : {};
  try {
    return {
      credentials: grpc.credentials.createSsl(tls.ca ?? null, tls.key ?? null, tls.cert ?? null, verify),
      options,
    };
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
function checkPems(flags: GrpcTlsValues, { ca, key, cert }: TlsMaterial): void {
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
