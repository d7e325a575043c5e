import { randomUUID } from 'node:crypto';
import {
  closeSync,
  fdatasyncSync,
  fstatSync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readSync,
  renameSync,
  statSync,
  writeSync,
} from 'node:fs';
import { open, readdir, readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type FileLockOptions, withFileLock } from '../core/file-lock.js';
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
  readonly #versions = new Map<string, number>();
  readonly #ids = new Map<string, IdEntry>();

  private constructor(dir: string) {
    this.#dir = dir;
    this.location = dir;
    this.#log = join(dir, LOG);
  }

  /** Open (creating when missing) the store directory. @throws UsageError when it is not usable. */
  static open(path: string): FileEventStore {
    const dir = resolve(path);
    try {
      ensureDir(dir);
      const st = statSync(dir);
      if (!st.isDirectory()) throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' });
      // Probe: the log must be readable and appendable. A new log's directory entry is synced too,
      // or a power loss could forget the file holding acknowledged events.
      const created = sizeOf(join(dir, LOG)) === 0;
      closeSync(openSync(join(dir, LOG), 'a'));
      if (created) syncDir(dir);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const why =
        code === 'EACCES' || code === 'EPERM'
          ? 'permission denied'
          : code === 'ENOTDIR' || code === 'EEXIST'
            ? 'not a directory'
            : code === 'EROFS'
              ? 'read-only file system'
              : (err as Error).message;
      throw new UsageError(`cannot open event store '${path}': ${why}`, {
        cause: err,
        hint: 'pass a writable directory with --store PATH (or COMMS_EVENTS)',
      });
    }
    return new FileEventStore(dir);
  }

  async append(input: NewEvent, expected: ExpectedVersion): Promise<AppendResult> {
    return storeLock(join(this.#dir, LOCK), () => {
      const fd = openSync(this.#log, 'a+');
      try {
        this.#refresh(fd, true);
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
        writeAll(fd, line);
        fdatasyncSync(fd);
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
    for await (const event of this.#scan(0)) {
      aggregates.add(event.aggregate);
      events += 1;
      lastPosition = event.position;
    }
    return { aggregates: aggregates.size, events, lastPosition };
  }

  async getCheckpoint(name: string): Promise<number> {
    try {
      const parsed = JSON.parse(await readFile(join(this.#dir, 'checkpoints', `${name}.json`), 'utf8')) as {
        position?: unknown;
      };
      return typeof parsed.position === 'number' ? parsed.position : 0;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
      throw new UsageError(`cannot read checkpoint '${name}' in '${this.#dir}': ${(err as Error).message}`, {
        cause: err,
      });
    }
  }

  async setCheckpoint(name: string, position: number): Promise<void> {
    writeFileDurably(
      join(this.#dir, 'checkpoints'),
      `${name}.json`,
      `${JSON.stringify({ name, position, time: new Date().toISOString() })}\n`,
    );
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
    await storeLock(join(this.#dir, `dead-letters-${group}.lock`), () => {
      const next = change(this.#readDeadLetters(group));
      writeFileDurably(
        join(this.#dir, 'dead-letters'),
        `${group}.json`,
        `${JSON.stringify(next, null, 1)}\n`,
      );
    });
  }

  /**
   * Bring the index up to date with what is on disk. Under the lock, a torn tail (bytes after the
   * last newline, or a last line that does not parse) is the remains of a writer that died
   * mid-append, and is truncated; such an event was never acknowledged.
   */
  #refresh(fd: number, locked: boolean): void {
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
    if (locked && size > this.#offset) ftruncateSync(fd, this.#offset);
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

/** Replace `dir/name` atomically and durably: temp file, fsync, rename, fsync the directory. */
function writeFileDurably(dir: string, name: string, text: string): void {
  ensureDir(dir);
  const tmp = join(dir, `.${name}.${process.pid}.${randomUUID().slice(0, 8)}.tmp`);
  const fd = openSync(tmp, 'w');
  try {
    writeAll(fd, Buffer.from(text, 'utf8'));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, join(dir, name));
  syncDir(dir);
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

function syncDir(dir: string): void {
  const dfd = openSync(dir, 'r');
  try {
    fsyncSync(dfd);
  } finally {
    closeSync(dfd);
  }
}
