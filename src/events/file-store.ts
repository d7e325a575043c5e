import {
  closeSync,
  fdatasyncSync,
  fstatSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  statSync,
  writeSync,
} from 'node:fs';
import { open, readdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { diskError, syncDir, writeFileDurably } from '../core/durable-file.js';
import { acquireFileLock, type FileLockOptions, withFileLock } from '../core/file-lock.js';
import { ResponseError, TimeoutError, UsageError } from '../errors/comms-error.js';
import {
  type AppendResult,
  type ExpectedVersion,
  isStoredEvent,
  type NewEvent,
  type StoredEvent,
} from './event.js';
import { sameAppend } from './id-conflict.js';
import {
  type DeadLetter,
  type EventStore,
  matchesFilter,
  type ReadAllOptions,
  type StoreStats,
} from './store.js';
import { versionConflict } from './version-conflict.js';

const LOG = 'events.jsonl';
const LOCK = 'events.lock';
const CHUNK = 256 * 1024;
const FOLLOW_POLL_MS = 50;

/** The store's lock: a writer still holding it after 10 s is reported (exit 4) with its pid. */
const STORE_LOCK: FileLockOptions = {
  busy: (lockPath, owner) =>
    new TimeoutError(`event store is locked: '${lockPath}' held by pid ${owner ?? '?'}`, {
      hint: 'another comms-cli is appending; if no such process exists, delete the lock file',
    }),
};

function storeLock<T>(lockPath: string, fn: () => T): Promise<T> {
  return withFileLock(lockPath, fn, STORE_LOCK);
}

interface IdEntry {
  start: number;
  end: number;
}

/**
 * The embedded store: one append-only file of JSON lines (`events.jsonl`, one event per line, in
 * global order) in a directory, plus `checkpoints/NAME.json` and `dead-letters/GROUP.json`.
 *
 * Why JSON lines and not SQLite: no native addon to build (better-sqlite3 is one, and node:sqlite is
 * not in Node 20), a format people can read with `jq`, and the three guarantees are easy to state:
 * - durable: an append returns only after the line is written and fdatasync'ed;
 * - atomic: a line is one write; a torn last line (a crash mid-write) has no newline or does not
 *   parse, is ignored by readers and truncated by the next writer under the lock, so an acknowledged
 *   event (a complete line) is never lost or corrupted;
 * - concurrent: every append re-reads what other processes appended and checks the expected version
 *   while holding the cross-process lock (`file-lock.ts`).
 * Each process keeps an index (versions per aggregate, ids) built by reading the log once and then
 * only the bytes appended since, so an append costs one lock, one short read, one write and one sync.
 */
export class FileEventStore implements EventStore {
  readonly kind = 'file' as const;
  readonly location: string;
  readonly #dir: string;
  readonly #log: string;
  #offset = 0;
  #lastPosition = 0;
  /** Whether this process has compared the log's end with the checkpoints (once, and after a torn tail). */
  #checkpointsChecked = false;
  readonly #versions = new Map<string, number>();
  readonly #ids = new Map<string, IdEntry>();

  private constructor(dir: string) {
    this.#dir = dir;
    this.location = dir;
    this.#log = join(dir, LOG);
  }

  /**
   * Open the store directory. With `create` (commands that write: append, dispatch) a missing store is
   * created and the log is probed for appending. Without it (read, tail, stats, dead-letters) nothing
   * is created or opened for writing: a missing store is a UsageError (exit 2, code
   * COMMS_ERR_NO_STORE), and a store on read-only media can be read.
   * @throws UsageError when it is not usable.
   */
  static open(path: string, { create = true }: { create?: boolean } = {}): FileEventStore {
    const dir = resolve(path);
    const log = join(dir, LOG);
    if (!create) {
      let st: ReturnType<typeof statSync> | undefined;
      try {
        st = statSync(dir);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw openError(path, err);
      }
      if (!st || (st.isDirectory() && !exists(log))) {
        throw new UsageError(`no event store at '${path}'`, {
          code: 'COMMS_ERR_NO_STORE',
          hint: 'nothing was appended there yet (events append creates it); pass --store PATH or set COMMS_EVENTS',
        });
      }
      try {
        if (!st.isDirectory()) throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' });
        closeSync(openSync(log, 'r'));
      } catch (err) {
        throw openError(path, err);
      }
      return new FileEventStore(dir);
    }
    try {
      ensureDir(dir);
      const st = statSync(dir);
      if (!st.isDirectory()) throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' });
      // Probe: the log must be readable and appendable. A new log's directory entry is synced too,
      // or a power loss could forget the file holding acknowledged events.
      const created = sizeOf(log) === 0;
      closeSync(openSync(log, 'a'));
      if (created) syncDir(dir);
    } catch (err) {
      throw openError(path, err);
    }
    return new FileEventStore(dir);
  }

  async append(input: NewEvent, expected: ExpectedVersion): Promise<AppendResult> {
    return storeLock(join(this.#dir, LOCK), () => {
      const fd = openSync(this.#log, 'a+');
      try {
        const torn = this.#refresh(fd);
        if (torn || !this.#checkpointsChecked) {
          this.#refuseReusedPositions();
          this.#checkpointsChecked = true;
        }
        // A torn tail is the remains of a writer that died mid-append (never acknowledged): cut it.
        if (torn) ftruncateSync(fd, this.#offset);
        const seen = this.#ids.get(input.id);
        if (seen) return { event: sameAppend(input, this.#readAt(fd, seen)), duplicate: true };
        const current = this.#versions.get(input.aggregate) ?? 0;
        if (expected !== undefined && expected !== current)
          throw versionConflict(input.aggregate, expected, current);
        const event: StoredEvent = {
          id: input.id,
          aggregate: input.aggregate,
          type: input.type,
          version: current + 1,
          position: this.#lastPosition + 1,
          time: new Date().toISOString(),
          data: input.data,
          metadata: input.metadata,
        };
        const line = Buffer.from(`${JSON.stringify(event)}\n`, 'utf8');
        try {
          writeAll(fd, line);
          fdatasyncSync(fd);
        } catch (err) {
          // Half a line may be on disk: a torn tail, cut by the next append. Nothing was acknowledged.
          throw diskError(err, `event store '${this.#log}'`);
        }
        this.#index(event, this.#offset, this.#offset + line.length);
        this.#offset += line.length;
        return { event, duplicate: false };
      } finally {
        closeSync(fd);
      }
    });
  }

  async *readAggregate(
    aggregate: string,
    fromVersion: number,
    signal?: AbortSignal,
  ): AsyncIterable<StoredEvent> {
    for await (const event of this.#scan(0, signal)) {
      if (event.aggregate === aggregate && event.version >= fromVersion) yield event;
    }
  }

  async *readAll(options: ReadAllOptions): AsyncIterable<StoredEvent> {
    let offset = 0;
    let after = options.afterPosition;
    const { signal } = options;
    for (;;) {
      for await (const [event, end] of this.#scanWithOffsets(offset, signal)) {
        offset = end;
        if (event.position <= after) continue;
        after = event.position;
        if (matchesFilter(event, options.filter)) yield event;
      }
      if (!options.follow || signal?.aborted) return;
      // Poll for growth: cheap (one stat), and works on every file system, unlike fs.watch.
      while (!signal?.aborted && sizeOf(this.#log) <= offset) {
        try {
          await sleep(FOLLOW_POLL_MS, undefined, signal ? { signal } : undefined);
        } catch {
          return;
        }
      }
      if (signal?.aborted) return;
    }
  }

  async stats(): Promise<StoreStats> {
    const aggregates = new Set<string>();
    let events = 0;
    let lastPosition = 0;
    let end = 0;
    const size = sizeOf(this.#log);
    for await (const [event, lineEnd] of this.#scanWithOffsets(0)) {
      aggregates.add(event.aggregate);
      events += 1;
      lastPosition = event.position;
      end = lineEnd;
    }
    // Bytes after the last complete event: a torn line (a writer died mid-append, or damage from
    // outside). Readers skip it and the next append cuts it; stats says so.
    const torn = end < size ? { tornTail: { offset: end, bytes: size - end, file: this.#log } } : {};
    return { aggregates: aggregates.size, events, lastPosition, ...torn };
  }

  /**
   * A dispatcher's checkpoint. The file must hold a non-negative integer position no further than the
   * log's last event: anything else is a UsageError (exit 2, COMMS_ERR_BAD_CHECKPOINT) naming the file,
   * never silently another position.
   */
  async getCheckpoint(name: string): Promise<number> {
    const file = this.#checkpointFile(name);
    const position = readCheckpointFile(file);
    if (position === undefined || position === 0) return 0;
    const fd = openSync(this.#log, 'r');
    try {
      this.#refresh(fd);
    } finally {
      closeSync(fd);
    }
    if (position > this.#lastPosition)
      throw new UsageError(
        `checkpoint file '${file}' is at position ${position}, beyond the end of the log (last position ${this.#lastPosition})`,
        {
          code: 'COMMS_ERR_BAD_CHECKPOINT',
          hint: 'the log lost events, or the checkpoint belongs to another store; restore the log, or delete the checkpoint to deliver from the start',
        },
      );
    return position;
  }

  async setCheckpoint(name: string, position: number): Promise<void> {
    const dir = join(this.#dir, 'checkpoints');
    ensureDir(dir);
    const file = this.#checkpointFile(name);
    await writeFileDurably(
      file,
      `${JSON.stringify({ name, position, time: new Date().toISOString() })}\n`,
      `checkpoint '${file}'`,
    );
  }

  /**
   * Hold the checkpoint for a whole dispatch run: a lock file `checkpoints/NAME.lock` with this pid.
   * A second dispatcher with the same name gets a UsageError naming the holder's pid at once.
   */
  async holdCheckpoint(name: string): Promise<() => Promise<void>> {
    const dir = join(this.#dir, 'checkpoints');
    ensureDir(dir);
    const lockPath = join(dir, `${name}.lock`);
    const release = await acquireFileLock(lockPath, {
      timeoutMs: 0,
      busy: (path, owner) =>
        new UsageError(
          `checkpoint '${name}' is in use by ${owner ? `pid ${owner}` : 'another process'} (another events dispatch; lock '${path}')`,
          {
            code: 'COMMS_ERR_CHECKPOINT_BUSY',
            hint: 'wait for that dispatcher to finish, or give this one another --checkpoint name',
          },
        ),
    });
    return async () => release();
  }

  async addDeadLetter(letter: DeadLetter): Promise<void> {
    await this.#updateDeadLetters(letter.group, (list) => [
      ...list.filter((l) => l.event.position !== letter.event.position),
      letter,
    ]);
  }

  async listDeadLetters(group?: string): Promise<DeadLetter[]> {
    const dir = join(this.#dir, 'dead-letters');
    let groups: string[];
    if (group !== undefined) groups = [group];
    else {
      try {
        groups = (await readdir(dir)).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5));
      } catch {
        groups = [];
      }
    }
    const all = groups.flatMap((g) => this.#readDeadLetters(g));
    return all.sort((a, b) => a.event.position - b.event.position || a.group.localeCompare(b.group));
  }

  async removeDeadLetter(group: string, position: number): Promise<void> {
    await this.#updateDeadLetters(group, (list) => list.filter((l) => l.event.position !== position));
  }

  async close(): Promise<void> {}

  #readDeadLetters(group: string): DeadLetter[] {
    const fd = tryOpen(join(this.#dir, 'dead-letters', `${group}.json`));
    if (fd === undefined) return [];
    try {
      const text = readAllSync(fd).toString('utf8');
      return text.trim() === '' ? [] : (JSON.parse(text) as DeadLetter[]);
    } finally {
      closeSync(fd);
    }
  }

  async #updateDeadLetters(group: string, change: (list: DeadLetter[]) => DeadLetter[]): Promise<void> {
    await storeLock(join(this.#dir, `dead-letters-${group}.lock`), async () => {
      const next = change(this.#readDeadLetters(group));
      const dir = join(this.#dir, 'dead-letters');
      ensureDir(dir);
      const file = join(dir, `${group}.json`);
      await writeFileDurably(file, `${JSON.stringify(next, null, 1)}\n`, `dead-letter list '${file}'`);
    });
  }

  /**
   * Bring the index up to date with what is on disk. Returns true when bytes follow the last complete
   * event: a torn tail (bytes after the last newline, or a last line that does not parse). Under the
   * lock it is the remains of a writer that died mid-append (never acknowledged) and the caller cuts it.
   */
  #refresh(fd: number): boolean {
    const size = fstatSync(fd).size;
    if (size < this.#offset)
      throw new ResponseError(`event store '${this.#log}' shrank: it was modified outside comms-cli`);
    let pos = this.#offset;
    let carry = Buffer.alloc(0);
    let carryStart = pos;
    const buf = Buffer.allocUnsafe(CHUNK);
    while (pos < size) {
      const n = readSync(fd, buf, 0, Math.min(CHUNK, size - pos), pos);
      if (n <= 0) break;
      const chunk = carry.length
        ? Buffer.concat([carry, buf.subarray(0, n)])
        : Buffer.from(buf.subarray(0, n));
      pos += n;
      let lineStart = 0;
      for (let nl = chunk.indexOf(10); nl !== -1; nl = chunk.indexOf(10, lineStart)) {
        const start = carryStart + lineStart;
        const end = carryStart + nl + 1;
        const event = parseLine(chunk.subarray(lineStart, nl));
        if (!event || event.position !== this.#lastPosition + 1) {
          if (end < size) throw new ResponseError(`event store '${this.#log}' is corrupt at byte ${start}`);
          break; // an unparsable last line: torn
        }
        this.#index(event, start, end);
        this.#offset = end;
        lineStart = nl + 1;
      }
      carry = chunk.subarray(lineStart);
      carryStart += lineStart;
    }
    return size > this.#offset;
  }

  #checkpointFile(name: string): string {
    return join(this.#dir, 'checkpoints', `${name}.json`);
  }

  /**
   * Before appending at position N+1, no checkpoint may already be past N: that would mean the log lost
   * events a dispatcher has handled (truncated or damaged from outside), and the new events would get
   * positions the dispatcher skips. Unreadable checkpoint files are left to the dispatch that uses them.
   */
  #refuseReusedPositions(): void {
    const dir = join(this.#dir, 'checkpoints');
    let names: string[];
    try {
      names = readdirSync(dir).filter((f) => f.endsWith('.json'));
    } catch {
      return;
    }
    for (const f of names) {
      let position: number | undefined;
      try {
        position = readCheckpointFile(join(dir, f));
      } catch {
        continue;
      }
      if (position !== undefined && position > this.#lastPosition)
        throw new ResponseError(
          `event store '${this.#log}' ends at position ${this.#lastPosition}, but checkpoint '${join(dir, f)}' is already at ${position}: an append would reuse a position that dispatcher has passed`,
          {
            code: 'COMMS_ERR_STORE_DAMAGED',
            hint: 'the log lost events (truncated or damaged from outside); restore it, or delete that checkpoint if its dispatcher should start over',
          },
        );
    }
  }

  #index(event: StoredEvent, start: number, end: number): void {
    this.#lastPosition = event.position;
    this.#versions.set(event.aggregate, event.version);
    this.#ids.set(event.id, { start, end });
  }

  #readAt(fd: number, at: IdEntry): StoredEvent {
    const buf = Buffer.allocUnsafe(at.end - at.start);
    readSync(fd, buf, 0, buf.length, at.start);
    const event = parseLine(buf.subarray(0, buf.length - 1));
    if (!event) throw new ResponseError(`event store '${this.#log}' is corrupt at byte ${at.start}`);
    return event;
  }

  async *#scan(from: number, signal?: AbortSignal): AsyncIterable<StoredEvent> {
    for await (const [event] of this.#scanWithOffsets(from, signal)) yield event;
  }

  /** Complete, valid lines from `from` to the current end (a torn last line is skipped). */
  async *#scanWithOffsets(from: number, signal?: AbortSignal): AsyncIterable<[StoredEvent, number]> {
    const handle = await open(this.#log, 'r');
    try {
      const buf = Buffer.allocUnsafe(CHUNK);
      let pos = from;
      let carry = Buffer.alloc(0);
      for (;;) {
        if (signal?.aborted) return;
        const { bytesRead } = await handle.read(buf, 0, CHUNK, pos);
        if (bytesRead <= 0) return;
        const chunk = carry.length
          ? Buffer.concat([carry, buf.subarray(0, bytesRead)])
          : Buffer.from(buf.subarray(0, bytesRead));
        const chunkStart = pos - carry.length;
        pos += bytesRead;
        let lineStart = 0;
        for (let nl = chunk.indexOf(10); nl !== -1; nl = chunk.indexOf(10, lineStart)) {
          const event = parseLine(chunk.subarray(lineStart, nl));
          if (!event) {
            // A bad last line is a torn tail (the next writer truncates it); one with events after it is damage.
            const more = nl + 1 < chunk.length || (await handle.stat()).size > pos;
            if (more)
              throw new ResponseError(
                `event store '${this.#log}' is corrupt at byte ${chunkStart + lineStart}`,
              );
            return;
          }
          lineStart = nl + 1;
          yield [event, chunkStart + lineStart];
        }
        carry = chunk.subarray(lineStart);
      }
    } finally {
      await handle.close();
    }
  }
}

function parseLine(bytes: Buffer): StoredEvent | undefined {
  try {
    const value: unknown = JSON.parse(bytes.toString('utf8'));
    return isStoredEvent(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

function writeAll(fd: number, data: Buffer): void {
  let off = 0;
  while (off < data.length) off += writeSync(fd, data, off, data.length - off);
}

function sizeOf(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

function tryOpen(path: string): number | undefined {
  try {
    return openSync(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

function readAllSync(fd: number): Buffer {
  const size = fstatSync(fd).size;
  const buf = Buffer.allocUnsafe(size);
  let off = 0;
  while (off < size) {
    const n = readSync(fd, buf, off, size - off, off);
    if (n <= 0) break;
    off += n;
  }
  return buf.subarray(0, off);
}

/**
 * mkdir -p without `recursive: true`: Node 20's recursive mkdir spins forever on some paths whose
 * parent refuses new entries with ENOENT (e.g. under /proc); this gives up with the error instead.
 */
function ensureDir(dir: string): void {
  try {
    mkdirSync(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return;
    const parent = dirname(dir);
    if (code !== 'ENOENT' || parent === dir) throw err;
    ensureDir(parent);
    mkdirSync(dir);
  }
}

function exists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}

function openError(path: string, err: unknown): UsageError {
  const code = (err as NodeJS.ErrnoException).code;
  const why =
    code === 'EACCES' || code === 'EPERM'
      ? 'permission denied'
      : code === 'ENOTDIR' || code === 'EEXIST'
        ? 'not a directory'
        : code === 'EROFS'
          ? 'read-only file system'
          : (err as Error).message;
  return new UsageError(`cannot open event store '${path}': ${why}`, {
    cause: err,
    hint:
      code === 'EROFS'
        ? 'reading works on read-only media (read, tail, stats, dead-letters); append and dispatch need a writable directory'
        : 'pass a writable directory with --store PATH (or COMMS_EVENTS)',
  });
}

/**
 * The position in a checkpoint file: undefined when there is none; a UsageError naming the file when
 * it does not parse or its position is not a non-negative integer.
 */
function readCheckpointFile(file: string): number | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new UsageError(`cannot read checkpoint file '${file}': ${(err as Error).message}`, {
      cause: err,
      code: 'COMMS_ERR_BAD_CHECKPOINT',
    });
  }
  let position: unknown;
  try {
    position = (JSON.parse(text) as { position?: unknown } | null)?.position;
  } catch {
    position = Symbol.for('unparsable');
  }
  if (typeof position === 'number' && Number.isSafeInteger(position) && position >= 0) return position;
  const shown =
    typeof position === 'symbol'
      ? 'it is not JSON'
      : `position is ${JSON.stringify(position) ?? 'missing'}, not a non-negative integer`;
  throw new UsageError(`invalid checkpoint file '${file}': ${shown}`, {
    code: 'COMMS_ERR_BAD_CHECKPOINT',
    hint: 'fix the position in that file, or delete it to deliver from the start',
  });
}
