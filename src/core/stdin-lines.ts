import { StringDecoder } from 'node:string_decoder';

/**
 * stdin line by line as it arrives (not read whole first), so `tail -f | publish --lines` streams.
 * Reading starts when iteration starts (nothing is read, and so nothing dropped, while connecting),
 * and the iteration ends at EOF or as soon as `signal` aborts, even while stdin is idle (Ctrl-C).
 * Lines end at \n; a trailing \r is dropped; a last line without \n still counts.
 */
export async function* stdinLines(stdin: NodeJS.ReadableStream, signal: AbortSignal): AsyncIterable<string> {
  if (signal.aborted) return;
  const decoder = new StringDecoder('utf8');
  const chunks = (stdin as AsyncIterable<Buffer | string>)[Symbol.asyncIterator]();
  let aborted: () => void = () => undefined;
  const abort = new Promise<'aborted'>((resolve) => {
    aborted = () => resolve('aborted');
    signal.addEventListener('abort', aborted, { once: true });
  });
  let rest = '';
  const cut = (line: string) => (line.endsWith('\r') ? line.slice(0, -1) : line);
  try {
    for (;;) {
      const pending = chunks.next();
      const next = await Promise.race([pending, abort]);
      if (next === 'aborted') {
        // The read stays pending: destroy stdin (an idle pipe or TTY would keep the process alive);
        // iterator.return() would queue behind that pending read and never run.
        pending.catch(() => undefined);
        (stdin as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.();
        return;
      }
      if (next.done) break;
      rest += typeof next.value === 'string' ? next.value : decoder.write(next.value);
      let nl = rest.indexOf('\n');
      while (nl >= 0) {
        yield cut(rest.slice(0, nl));
        rest = rest.slice(nl + 1);
        nl = rest.indexOf('\n');
      }
    }
    rest += decoder.end();
    if (rest !== '') yield cut(rest);
  } finally {
    signal.removeEventListener('abort', aborted);
    // Ended early by the consumer (no read pending here): stop reading stdin.
    void chunks.return?.().catch(() => undefined);
  }
}

/** 1..n mapped lazily (a generated batch: `--count N`). */
export function* range<T>(n: number, f: (seq: number) => T): Iterable<T> {
  for (let i = 1; i <= n; i++) yield f(i);
}

/** Map an async source with a 1-based sequence number. */
export async function* mapAsync<T, U>(src: AsyncIterable<T>, f: (v: T, seq: number) => U): AsyncIterable<U> {
  let seq = 0;
  for await (const v of src) {
    seq += 1;
    yield f(v, seq);
  }
}
