import type { Root, Type } from 'protobufjs';
import { messageToJson } from './json-codec.js';
import { loadShippedProto } from './schema.js';

/** The trailer that carries a `google.rpc.Status` with typed error details. */
export const STATUS_DETAILS_KEY = 'grpc-status-details-bin';

/** One decoded error detail: `{"@type": "type.googleapis.com/google.rpc.BadRequest", ...fields}`. */
export type StatusDetail = Record<string, unknown>;

/**
 * Decode the STATUS_DETAILS_KEY trailer (a serialized google.rpc.Status). Detail types are looked up in
 * the standard google.rpc error details first, then in the call's own schema; a type neither knows is
 * shown as its type URL and base64 value rather than dropped.
 */
export async function decodeStatusDetails(bin: Buffer, schema?: Root): Promise<StatusDetail[]> {
  const rpc = await loadShippedProto('google/rpc/status.proto', 'google/rpc/error_details.proto');
  const statusType = rpc.lookupType('google.rpc.Status');
  let status: { details?: Array<{ type_url?: string; value?: Uint8Array }> };
  try {
    status = statusType.decode(bin) as unknown as typeof status;
  } catch {
    return [];
  }
  return (status.details ?? []).map((any) => {
    const url = any.type_url ?? '';
    const name = url.slice(url.lastIndexOf('/') + 1);
    const type = lookup(rpc, name) ?? (schema ? lookup(schema, name) : undefined);
    if (!type || !any.value) return { '@type': url, value: Buffer.from(any.value ?? []).toString('base64') };
    try {
      return { '@type': url, ...(messageToJson(type, type.decode(any.value)) as Record<string, unknown>) };
    } catch {
      return { '@type': url, value: Buffer.from(any.value).toString('base64') };
    }
  });
}

function lookup(root: Root, name: string): Type | undefined {
  try {
    return root.lookupType(name);
  } catch {
    return undefined;
  }
}

/** The server's `google.rpc.RetryInfo` delay in ms, when a detail carries one. */
export function retryDelayMs(details: readonly StatusDetail[]): number | undefined {
  for (const d of details) {
    if (typeof d['@type'] !== 'string' || !d['@type'].endsWith('google.rpc.RetryInfo')) continue;
    const delay = d.retryDelay;
    const m = typeof delay === 'string' ? /^(-?\d+(?:\.\d+)?)s$/.exec(delay) : null;
    if (m) return Math.max(0, Number(m[1]) * 1000);
  }
  return undefined;
}

/** `ErrorInfo reason=... domain=...`-style one-liners for people. */
export function formatDetail(d: StatusDetail): string {
  const type = String(d['@type'] ?? '');
  const short = type.slice(type.lastIndexOf('.') + 1) || type;
  const { '@type': _t, ...rest } = d;
  return `${short} ${JSON.stringify(rest)}`;
}
