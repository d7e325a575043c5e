import { closeSync, fsyncSync, openSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { dirname } from 'node:path';
import { LocalError } from '../errors/comms-error.js';
import { commitTemp, discardTemp, openTemp, resolveWriteTarget } from './safe-file.js';

/** errno codes that mean "the disk could not take it": comms-cli's own failure (exit 6), not the peer's. */
const DISK_FULL: Readonly<Record<string, string>> = {
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EFBIG: 'file too large (ulimit -f)',
  EIO: 'input/output error',
  EROFS: 'read-only file system',
};

/**
 * Replace a small state file (checkpoint, dead-letter list, breaker state) by the rules of
 * `writeFileSafely` in safe-file.ts — an unpredictable temp file created exclusively (O_EXCL) beside
 * the target, a symlinked target written through to the file it names, the old file's mode and owner
 * kept, a device or FIFO written into rather than replaced — and durably: the temp file is fsync'ed
 * before the rename and the directory after it, so a power loss leaves the old content or the new.
 *
 * On any failure (a full disk while writing or syncing) the temp file is removed: nothing is left
 * behind but the old file, untouched. Disk-full errors become LocalError (exit 6) naming `what`.
 */
export async function writeFileDurably(file: string, data: string | Uint8Array, what = file): Promise<void> {
  const target = resolveWriteTarget(file);
  try {
    if (target.how === 'through') {
      const handle = await open(target.path, 'w');
      try {
        await handle.writeFile(data);
      } finally {
        await handle.close();
      }
      return;
    }
    const { path: temp, handle } = await openTemp(target.path);
    try {
      await handle.writeFile(data);
      await handle.sync();
      await handle.close();
      await commitTemp(temp, target);
    } catch (err) {
      await handle.close().catch(() => {});
      await discardTemp(temp);
      throw err;
    }
    syncDir(dirname(target.path));
  } catch (err) {
    throw diskError(err, what);
  }
}

/** A write failure as a typed error when it is the disk's (full, quota, read-only), else unchanged. */
export function diskError(err: unknown, what: string): unknown {
  const code = (err as NodeJS.ErrnoException).code ?? '';
  const why = DISK_FULL[code];
  if (why === undefined) return err;
  return new LocalError(`cannot write ${what}: ${why}`, { cause: err, code: 'COMMS_ERR_DISK' });
}

/** fsync a directory, so a rename or a new entry in it survives a power loss. */
export function syncDir(dir: string): void {
  const dfd = openSync(dir, 'r');
  try {
    fsyncSync(dfd);
  } finally {
    closeSync(dfd);
  }
}
