import {
  accessSync,
  closeSync,
  constants,
  fsyncSync,
  openSync,
  readFileSync,
  renameSync,
  statSync,
  writeSync,
} from 'node:fs';
import { dirname, resolve } from 'node:path';
import { type FileLockOptions, withFileLock } from '../core/file-lock.js';
import { UsageError } from '../errors/comms-error.js';

/**
 * Circuit breaker state kept in a JSON file (`--breaker-state FILE`) so that repeated invocations in
 * a CI shell share one breaker. The file maps breaker key (target) -> cockatiel's `toJSON()` state.
 *
 * Two processes may finish at the same time, so a save is read-modify-write under the shared file
 * lock (`FILE.lock`, see core/file-lock.ts: a lock whose owner died is broken), and the new content is
 * written to a temp file, fsynced and renamed over the old one: a reader never sees half a file.
 */
export type BreakerStateMap = Record<string, unknown>;

/** Fail before anything is sent when the state file could never be written (exit 2, not after the call). */
export function checkBreakerStateFile(file: string): void {
  const dir = dirname(resolve(file));
  try {
    if (!statSync(dir).isDirectory()) throw new Error('not a directory');
    accessSync(dir, constants.W_OK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'no such directory'
        : code === 'EACCES'
          ? 'permission denied'
          : (err as Error).message;
    throw new UsageError(`cannot use --breaker-state file '${file}': ${why}`);
  }
}

export function loadBreakerStates(file: string): BreakerStateMap {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new UsageError(`cannot read --breaker-state file '${file}': ${(err as Error).message}`, {
      cause: err,
    });
  }
  if (text.trim() === '') return {};
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as BreakerStateMap;
  } catch {
    // fall through: a corrupt file is reported, not silently reset
  }
  throw new UsageError(`--breaker-state file '${file}' is not a breaker state file (invalid JSON)`, {
    hint: 'delete it to start with a closed breaker',
  });
}

/** Two invocations saving at once wait for each other; a live owner past this is reported (exit 2). */
const LOCK_OPTIONS: FileLockOptions = {
  timeoutMs: 5_000,
  busy: (lockFile, owner) =>
    new UsageError(`could not lock '${lockFile}' (held by ${owner ? `pid ${owner}` : 'another process'})`),
};

/**
 * Update the file under the lock and replace it atomically. `updates` is either the entries to set,
 * or a function from the file's current content (read under the lock) to the entries to set.
 */
export async function saveBreakerStates(
  file: string,
  updates: BreakerStateMap | ((current: BreakerStateMap) => BreakerStateMap),
): Promise<void> {
  await withFileLock(
    `${file}.lock`,
    () => {
      const current = loadBreakerStates(file);
      const next = { ...current, ...(typeof updates === 'function' ? updates(current) : updates) };
      const tmp = `${file}.${process.pid}.tmp`;
      const out = openSync(tmp, 'w');
      try {
        writeSync(out, `${JSON.stringify(next, null, 2)}\n`);
        fsyncSync(out);
      } finally {
        closeSync(out);
      }
      renameSync(tmp, file);
    },
    LOCK_OPTIONS,
  );
}
