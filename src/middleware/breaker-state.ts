import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { writeFileDurably } from '../core/durable-file.js';
import { type FileLockOptions, withFileLock } from '../core/file-lock.js';
import { resolveWriteTarget } from '../core/safe-file.js';
import { UsageError } from '../errors/comms-error.js';

/**
 * Circuit breaker state kept in a JSON file (`--breaker-state FILE`) so that repeated invocations in
 * a CI shell share one breaker. The file maps breaker key (target) -> cockatiel's `toJSON()` state.
 *
 * Two processes may finish at the same time, so a save is read-modify-write under the shared file
 * lock (`FILE.lock` beside the real file, see core/file-lock.ts: a lock whose owner died is broken),
 * and the new content is written by core/durable-file.ts: an unpredictable temp file created with
 * O_EXCL in the target's directory (a planted symlink cannot redirect it), fsynced and renamed over
 * the old one (a reader never sees half a file), the file's mode and owner kept; a state file that is
 * a symlink is written through to the file it points to. A failed write leaves no temp file.
 */
export type BreakerStateMap = Record<string, unknown>;

/** Fail before anything is sent when the state file could never be written (exit 2, not after the call). */
export function checkBreakerStateFile(file: string): void {
  const dir = dirname(resolveWriteTarget(file).path);
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
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined; // a corrupt file is reported, not silently reset
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed))
    throw new UsageError(`--breaker-state file '${file}' is not a breaker state file (invalid JSON)`, {
      code: 'COMMS_ERR_BREAKER_STATE',
      hint: 'delete it to start with a closed breaker',
    });
  for (const [key, entry] of Object.entries(parsed)) {
    const problem = entryProblem(entry);
    if (problem)
      throw new UsageError(
        `--breaker-state file '${file}': the entry for '${key}' is not a breaker state (${problem})`,
        {
          code: 'COMMS_ERR_BREAKER_STATE',
          hint: 'delete that entry (or the file) to start with a closed breaker',
        },
      );
  }
  return parsed as BreakerStateMap;
}

/**
 * What is wrong with one saved breaker (cockatiel's ConsecutiveBreaker `toJSON()`:
 * `{ownState: {value: 0-3, openedAt?, attemptNo?}, breakerState: failures}`), or undefined when fine.
 * Checked on load so a hand-edited or foreign file is a usage error naming it, never a crash inside
 * the call that would be reported as the peer's failure.
 */
function entryProblem(entry: unknown): string | undefined {
  if (!entry || typeof entry !== 'object' || Array.isArray(entry))
    return `expected an object, got ${Array.isArray(entry) ? 'an array' : JSON.stringify(entry)}`;
  const { ownState, breakerState } = entry as { ownState?: unknown; breakerState?: unknown };
  if (!ownState || typeof ownState !== 'object') return 'ownState is missing or not an object';
  const own = ownState as { value?: unknown; openedAt?: unknown; attemptNo?: unknown };
  if (own.value !== 0 && own.value !== 1 && own.value !== 2 && own.value !== 3)
    return `ownState.value must be 0, 1, 2 or 3, got ${JSON.stringify(own.value)}`;
  if (own.openedAt !== undefined && (typeof own.openedAt !== 'number' || !Number.isFinite(own.openedAt)))
    return `ownState.openedAt must be a number, got ${JSON.stringify(own.openedAt)}`;
  if (own.attemptNo !== undefined && !Number.isSafeInteger(own.attemptNo))
    return `ownState.attemptNo must be an integer, got ${JSON.stringify(own.attemptNo)}`;
  if (!Number.isSafeInteger(breakerState) || (breakerState as number) < 0)
    return `breakerState must be a non-negative integer, got ${JSON.stringify(breakerState)}`;
  return undefined;
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
  // The lock sits beside the real file, so two names (symlinks) for one state file share it.
  const real = resolveWriteTarget(file).path;
  await withFileLock(
    `${real}.lock`,
    async () => {
      const current = loadBreakerStates(file);
      const next = { ...current, ...(typeof updates === 'function' ? updates(current) : updates) };
      await writeFileDurably(file, `${JSON.stringify(next, null, 2)}\n`, `--breaker-state file '${file}'`);
    },
    LOCK_OPTIONS,
  );
}
