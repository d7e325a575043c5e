import type { Command } from 'commander';
import { addOptions, flag, list, type OptionValues, readOptions, text } from '../command/option.js';
import { UsageError } from '../errors/comms-error.js';
import { DEFAULT_WORKERS_PREFIX } from '../load/options.js';
import {
  NATS_CONNECTION_OPTIONS,
  type natsConnectOptionsFrom,
} from '../transports/nats/connection-options.js';
import { type AllowList, parseAllowList } from './allow.js';

/** `comms-cli worker`'s own options (the NATS connection flags come from the nats table). */
export const WORKER_OPTIONS = {
  tags: list('--tags <k=v>', 'a tag coordinators can select with --worker-tags (repeatable)', {
    mapSyntax: '=',
  }),
  prefix: text('--prefix <prefix>', 'subject prefix of the pool (pools do not see each other)', {
    default: DEFAULT_WORKERS_PREFIX,
  }),
  allowTargets: list(
    '--allow-targets <patterns>',
    "hosts plans may reach: CIDRs, names, '*.domain' (comma-separated, repeatable; default loopback only)",
  ),
};
export type WorkerValues = OptionValues<typeof WORKER_OPTIONS>;

/** The worker's settings, parsed at the edge. */
export interface WorkerSettings {
  /** Raw NATS connection flags, for natsConnectOptionsFrom. */
  nats: Parameters<typeof natsConnectOptionsFrom>[0];
  name: string | undefined;
  tags: Record<string, string>;
  prefix: string;
  allow: AllowList;
  quiet: boolean;
}

/** Attach the NATS connection flags (`-s/--server`, auth, TLS, `--name`) and the worker's own. */
export function addWorkerOptions(cmd: Command): void {
  addOptions(cmd, NATS_CONNECTION_OPTIONS);
  addOptions(cmd, WORKER_OPTIONS);
  addOptions(cmd, { quiet: flag('-q, --quiet', 'print nothing but errors') });
}

export function workerSettingsFrom(opts: Record<string, unknown>): WorkerSettings {
  const values = readOptions(WORKER_OPTIONS, opts);
  const tags: Record<string, string> = {};
  for (const t of values.tags) {
    const eq = t.indexOf('=');
    if (eq <= 0) throw new UsageError(`invalid --tags '${t}': expected key=value`);
    tags[t.slice(0, eq)] = t.slice(eq + 1);
  }
  if (!/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/.test(values.prefix))
    throw new UsageError(`invalid --prefix '${values.prefix}': NATS subject tokens (letters, digits, - _ .)`);
  return {
    nats: readOptions(NATS_CONNECTION_OPTIONS, opts),
    name: typeof opts.name === 'string' ? opts.name : undefined,
    tags,
    prefix: values.prefix,
    allow: parseAllowList(
      values.allowTargets
        .flatMap((v) => v.split(','))
        .map((v) => v.trim())
        .filter(Boolean),
    ),
    quiet: opts.quiet === true,
  };
}
