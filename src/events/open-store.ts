import type { NatsConnectionFlags } from '../transports/nats/connection-options.js';
import type { EventStore } from './store.js';

/** Where the embedded store lives when neither `--store` nor `COMMS_EVENTS` says otherwise. */
export const DEFAULT_STORE_DIR = '.comms-events';

/**
 * Where the store is, plus the NATS connection flags (`--user`, `--token`, `--creds`, `--tls-ca`...)
 * used by a JetStream store (and by `nats:` handlers); the server itself is `--store`.
 */
export interface StoreFlags extends Omit<NatsConnectionFlags, 'server'> {
  store?: string;
  stream?: string;
}

/** Just the NATS connection flags of a command's flags (no server). */
export function natsFlagsOf(flags: StoreFlags): Omit<NatsConnectionFlags, 'server'> {
  const keys = ['user', 'password', 'token', 'creds', 'nkey', 'tlsCa', 'tlsCert', 'tlsKey', 'name'] as const;
  const picked: Omit<NatsConnectionFlags, 'server'> = {};
  for (const k of keys) if (flags[k] !== undefined) picked[k] = flags[k];
  return picked;
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
      connection: natsFlagsOf(flags),
      ...(signal ? { signal } : {}),
    });
  }
  const { FileEventStore } = await import('./file-store.js');
  return FileEventStore.open(spec);
}
