import { Writable } from 'node:stream';

/**
 * A stream a step's command writes to in place of stdout: each complete line that is JSON is an
 * object the step printed (`--json`), handed to `onObject` in arrival order; the rest is kept as text.
 */
export class LineCollector extends Writable {
  readonly objects: unknown[] = [];
  text = '';
  #partial = '';
  readonly #onObject: ((o: unknown) => void) | undefined;

  constructor(onObject?: (o: unknown) => void) {
    super({ highWaterMark: 1 << 20 });
    this.#onObject = onObject;
  }

  override _write(chunk: Buffer | string, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    const s = typeof chunk === 'string' ? chunk : chunk.toString('utf8');
    this.text += s;
    if (this.text.length > 4_000_000) this.text = this.text.slice(-1_000_000);
    this.#partial += s;
    let nl = this.#partial.indexOf('\n');
    while (nl >= 0) {
      this.#line(this.#partial.slice(0, nl));
      this.#partial = this.#partial.slice(nl + 1);
      nl = this.#partial.indexOf('\n');
    }
    cb();
  }

  /** Take a last line that had no newline. */
  flushPartial(): void {
    if (this.#partial.trim() !== '') this.#line(this.#partial);
    this.#partial = '';
  }

  #line(line: string): void {
    const t = line.trim();
    if (!t.startsWith('{') && !t.startsWith('[')) return;
    try {
      const o = JSON.parse(t) as unknown;
      this.objects.push(o);
      this.#onObject?.(o);
    } catch {
      // not JSON: text output
    }
  }

  /** As the stream type commands take (they only write to it). */
  asStream(): NodeJS.WriteStream {
    return this as unknown as NodeJS.WriteStream;
  }
}
