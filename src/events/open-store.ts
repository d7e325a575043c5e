import { DEFAULT_STORE_DIR, type NatsStoreValues, type StoreValues } from './flags.js';
import type { EventStore } from './store.js';

const NATS_KEYS = [
  'user',
  'password',
  'token',
  'creds',
  'nkey',
  'tlsCa',
  'tlsCert',
  'tlsKey',
  'name',
  'context',
] as const;

/** Just the NATS connection values of a command's store values (no server: that is --store or -s). */
export function natsValuesOf(values: NatsStoreValues): NatsStoreValues {
  const picked: NatsStoreValues = {};
  for (const k of NATS_KEYS) if (values[k] !== undefined) picked[k] = values[k];
  return picked;
}

/** The store spec in effect: `--store`, else `$COMMS_EVENTS`, else `./.comms-events`. */
export function storeSpec(values: Pick<StoreValues, 'store'>, env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env.COMMS_EVENTS;
  return values.store ?? (fromEnv !== undefined && fromEnv !== '' ? fromEnv : DEFAULT_STORE_DIR);
}

/** True for `nats://` (and `tls://`) store specs: the JetStream store. */
export function isNatsStore(spec: string): boolean {
  return /^(nats|tls):\/\//i.test(spec);
}

/**
 * How a command uses the store: `write` (append, dispatch) creates it when missing; `read` (read,
 * tail, stats, dead-letters) never creates anything and never asks for write access: a missing store
 * is exit 2 (COMMS_ERR_NO_STORE), and a store on read-only media can be read.
 */
export type StoreAccess = 'read' | 'write';

/**
 * Open the store a command names. The JetStream store is imported only when asked for, so the
 * embedded store never loads NATS code.
 */
export async function openStore(
  values: StoreValues,
  signal?: AbortSignal,
  access: StoreAccess = 'write',
): Promise<EventStore> {
  const spec = storeSpec(values);
  const create = access === 'write';
  if (isNatsStore(spec)) {
    const { JetStreamEventStore } = await import('./jetstream-store.js');
    return JetStreamEventStore.open(spec, {
      ...(values.stream ? { stream: values.stream } : {}),
      connection: natsValuesOf(values),
      ...(signal ? { signal } : {}),
      create,
    });
  }
  const { FileEventStore } = await import('./file-store.js');
  return FileEventStore.open(spec, { create });
}
