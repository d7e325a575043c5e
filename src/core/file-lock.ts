import { closeSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { TimeoutError, UsageError } from '../errors/comms-error.js';
import { diskError } from './durable-file.js';

/**
 * A cross-process exclusive lock held as a lock file created with O_EXCL, containing the owner's pid.
 * Node has no flock(2), and a plain O_EXCL file would stay behind forever after `kill -9`; so a lock
 * whose owner no longer exists is stale and may be broken. Breaking is itself done under a second
 * O_EXCL file (`.break`) so two waiters cannot both decide the lock is stale and one of them delete a
 * lock the other has just taken. Holds are short (one append, one state-file rewrite), so waiters
 * poll with short jittered timers: the event loop stays free (Ctrl-C, other work) while they wait.
 *
 * The event store and the breaker state file (`--breaker-state`) both use it.
 * Limits: the pid check works on one host and one pid namespace; keep the files on local disk.
 */
export interface FileLockOptions {
  /** Give up after this long (default 10 s). */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** The error thrown when the lock is still held at the deadline (default: a TimeoutError, exit 4). */
  busy?: (lockPath: string, owner: number | undefined) => Error;
}

const BREAK_STALE_MS = 5_000;
/** A lock file with no pid yet (its owner died between create and write) is stale after this. */
const EMPTY_STALE_MS = 2_000;

/** Run `fn` while holding the lock file `lockPath`; the file is removed when `fn` settles. */
export async function withFileLock<T>(
  lockPath: string,
  fn: () => Promise<T> | T,
  options: FileLockOptions = {},
): Promise<T> {
  const release = await acquireFileLock(lockPath, options);
  try {
    return await fn();
  } finally {
    release();
  }
}

/**
 * Take the lock and keep it until the returned function is called (a hold as long as a run: an
 * `events dispatch` holds its checkpoint this way). A process that dies holding it leaves a stale
 * lock, broken by the next taker because its pid is gone.
 */
export async function acquireFileLock(lockPath: string, options: FileLockOptions = {}): Promise<() => void> {
  await acquire(lockPath, options);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    try {
      unlinkSync(lockPath);
    } catch {
      // already gone: nothing to release
    }
  };
}

/** The pid written in a lock file, when it holds one. */
export function lockOwner(lockPath: string): number | undefined {
  return ownerOf(lockPath);
}

function defaultBusy(lockPath: string, owner: number | undefined): Error {
  return new TimeoutError(`'${lockPath}' is locked by pid ${owner ?? '?'}`, {
    hint: 'if no such process exists, delete the lock file',
  });
}

async function acquire(
  lockPath: string,
  { timeoutMs = 10_000, signal, busy = defaultBusy }: FileLockOptions,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let round = 0; ; round++) {
    if (tryCreate(lockPath)) return;
    if (isStale(lockPath)) breakStale(lockPath);
    else {
      if (Date.now() > deadline) throw busy(lockPath, ownerOf(lockPath));
      // Short, jittered polls: a hold is one small write plus its fsync.
      await sleep(Math.min(1 + Math.random() * (2 + round), 25), undefined, signal ? { signal } : undefined);
    }
  }
}

function tryCreate(path: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'wx');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    throw new UsageError(`cannot create lock file '${path}': ${(err as Error).message}`, { cause: err });
  }
  try {
    writeSync(fd, `${process.pid}\n`);
  } catch (err) {
    // A full disk: an empty lock file would look held (for EMPTY_STALE_MS) to everyone else.
    closeSync(fd);
    try {
      unlinkSync(path);
    } catch {
      // gone already
    }
    throw diskError(err, `lock file '${path}'`);
  }
  closeSync(fd);
  return true;
}

function ownerOf(path: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(path, 'utf8'), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function isStale(path: string): boolean {
  const pid = ownerOf(path);
  if (pid !== undefined) return !alive(pid);
  try {
    return Date.now() - statSync(path).mtimeMs > EMPTY_STALE_MS;
  } catch {
    return false; // released meanwhile: just retry
  }
}

/** Remove a stale lock under the `.break` lock, re-checking staleness once it is held. */
function breakStale(lockPath: string): void {
  const breakPath = `${lockPath}.break`;
  if (!tryCreate(breakPath)) {
    // Another waiter is breaking; if that waiter died mid-break, clear its marker.
    const pid = ownerOf(breakPath);
    try {
      if ((pid !== undefined && !alive(pid)) || Date.now() - statSync(breakPath).mtimeMs > BREAK_STALE_MS)
        unlinkSync(breakPath);
    } catch {
      // gone meanwhile
    }
    return;
  }
  try {
    if (isStale(lockPath)) unlinkSync(lockPath);
  } catch {
    // released meanwhile
  } finally {
    try {
      unlinkSync(breakPath);
    } catch {
      // ignore
    }
  }
}
