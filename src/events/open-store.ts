import type { EventStore } from './store.js';

/** Where the embedded store lives when neither `--store` nor `COMMS_EVENTS` says otherwise. */
export const DEFAULT_STORE_DIR = '.comms-events';

export interface StoreFlags {
  store?: string;
  stream?: string;
}

/** The store spec in effect: `--store`, else `$COMMS_EVENTS`, else `./.comms-events`. */
export function storeSpec(flags: StoreFlags, env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env.COMMS_EVENTS;
  return flags.store ?? (fromEnv !== undefined && fromEnv !== '' ? fromEnv : DEFAULT_STORE_DIR);
}

/** True for `nats://` (and `tls://`) store specs: the JetStream store. */
export function isNatsStore(spec: string): boolean {
  return /^(nats|tls):\/\//i.test(spec);
}

/**
 * Open the store a command names. The JetStream store is imported only when asked for, so the
 * embedded store never loads NATS code.
 */
export async function openStore(flags: StoreFlags, signal?: AbortSignal): Promise<EventStore> {
  const spec = storeSpec(flags);
  if (isNatsStore(spec)) {
    const { JetStreamEventStore } = await import('./jetstream-store.js');
    return JetStreamEventStore.open(spec, {
      ...(flags.stream ? { stream: flags.stream } : {}),
      ...(signal ? { signal } : {}),
    });
  }
  const { FileEventStore } = await import('./file-store.js');
  return FileEventStore.open(spec);
}
