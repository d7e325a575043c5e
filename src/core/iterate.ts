/** Small iteration helpers for commands that send many messages (--count, --lines). */

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
