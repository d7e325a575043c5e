import { type MsgHdrs, headers as natsHeaders } from '@nats-io/transport-node';
import { parseHeader } from '../../core/input.js';

/** A message's headers as pairs: what -H gives, what an OutgoingMessage carries. */
export type HeaderPairs = ReadonlyArray<readonly [string, string]>;

/** `-H 'Name: value'` values as pairs (validated; templates kept for per-message expansion). */
export function parseHeaders(list: readonly string[]): Array<readonly [string, string]> {
  return list.map((h) => parseHeader(h, '-H'));
}

/** Pairs as nats.js headers (a name may repeat). */
export function toHeaders(list: HeaderPairs): MsgHdrs {
  const h = natsHeaders();
  for (const [k, v] of list) h.append(k, v);
  return h;
}

/** `base` (a request's headers, echoed) with `extra` set over it (reply -H wins). */
export function mergeHeaders(base: MsgHdrs | undefined, extra: HeaderPairs): MsgHdrs {
  const h = toHeaders([]);
  if (base) for (const [k, values] of base) for (const v of values) h.append(k, v);
  for (const [k, v] of extra) h.set(k, v);
  return h;
}
