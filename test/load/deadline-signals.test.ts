import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { TimeoutError } from '../../src/errors/comms-error.js';
import { DeadlineSignals } from '../../src/middleware/timeout.js';

/* The pooled per-attempt signals behind CallPipeline's hot path (load mode). */
describe('DeadlineSignals', () => {
  it('aborts an attempt after its timeout with a TimeoutError naming the flag', async () => {
    const source = new DeadlineSignals(new AbortController().signal);
    const d = source.derive(20, '--timeout');
    await new Promise<void>((resolve) => d.signal.addEventListener('abort', () => resolve(), { once: true }));
    expect(d.signal.reason).toBeInstanceOf(TimeoutError);
    expect((d.signal.reason as Error).message).toBe('timed out after 20.0ms (--timeout)');
    d.dispose();
  });

  it('passes the parent abort (Ctrl-C) to every live attempt, with its reason', () => {
    const root = new AbortController();
    const source = new DeadlineSignals(root.signal);
    const a = source.derive(30_000, '--timeout');
    const b = source.derive(30_000, '--timeout');
    const reason = new Error('ctrl-c');
    root.abort(reason);
    expect(a.signal.aborted && b.signal.aborted).toBe(true);
    expect(a.signal.reason).toBe(reason);
    a.dispose();
    b.dispose();
    // Once the parent is aborted, new attempts start aborted.
    const c = source.derive(30_000, '--timeout');
    expect(c.signal.aborted).toBe(true);
    c.dispose();
  });

  it('reuses a clean signal, never one that fired or still has a listener', async () => {
    const source = new DeadlineSignals(new AbortController().signal);
    const first = source.derive(30_000, '--timeout');
    const clean = first.signal;
    first.dispose();
    const second = source.derive(30_000, '--timeout');
    expect(second.signal).toBe(clean);
    expect(second.signal.aborted).toBe(false);

    // A transport that leaked a listener: the signal is not handed out again.
    second.signal.addEventListener('abort', () => {});
    second.dispose();
    const third = source.derive(30_000, '--timeout');
    expect(third.signal).not.toBe(clean);

    // A signal that timed out is not reused either.
    const timed = source.derive(5, '--timeout');
    await new Promise((r) => timed.signal.addEventListener('abort', r, { once: true }));
    timed.dispose();
    third.dispose();
    const fourth = source.derive(30_000, '--timeout');
    expect(fourth.signal).not.toBe(timed.signal);
    expect(fourth.signal.aborted).toBe(false);
    fourth.dispose();
  });

  it('reuses a signal whose listener was removed again (as undici and Node add and remove theirs)', () => {
    const source = new DeadlineSignals(new AbortController().signal);
    const first = source.derive(30_000, '--timeout');
    const signal = first.signal;
    const listener = () => {};
    signal.addEventListener('abort', listener);
    signal.removeEventListener('abort', listener);
    first.dispose();
    const second = source.derive(30_000, '--timeout');
    expect(second.signal).toBe(signal);
    // Listeners added through Node's own helpers are seen too.
    void sleep(60_000, undefined, { signal: second.signal, ref: false }).catch(() => {});
    second.dispose();
    const third = source.derive(30_000, '--timeout');
    expect(third.signal).not.toBe(signal);
    third.dispose();
  });

  it('aborts every running attempt on the parent abort after slots were reused and let go', async () => {
    const root = new AbortController();
    const source = new DeadlineSignals(root.signal);
    // Churn: some slots reused, some let go (a listener left on them), some timed out.
    const leaky = Array.from({ length: 5 }, () => source.derive(30_000, '--timeout'));
    for (const d of leaky) {
      d.signal.addEventListener('abort', () => {});
      d.dispose();
    }
    const timed = source.derive(1, '--timeout');
    await new Promise((r) => timed.signal.addEventListener('abort', r, { once: true }));
    timed.dispose();
    for (let i = 0; i < 20; i++) source.derive(30_000, '--timeout').dispose();
    const running = Array.from({ length: 30 }, () => source.derive(30_000, '--timeout'));
    const finished = running.splice(10, 10);
    for (const d of finished) d.dispose();
    root.abort(new Error('ctrl-c'));
    for (const d of running) expect(d.signal.aborted).toBe(true);
    for (const d of finished) expect(d.signal.aborted).toBe(false);
    for (const d of leaky) expect(d.signal.aborted).toBe(false);
    for (const d of running) d.dispose();
  });

  it('calls the direct abort listener on timeout and on the parent abort, never after dispose', async () => {
    const root = new AbortController();
    const source = new DeadlineSignals(root.signal);
    const timed = source.derive(5, '--timeout');
    let timedOut = 0;
    timed.onAbort?.({ handleEvent: () => (timedOut += 1) });
    await new Promise((r) => timed.signal.addEventListener('abort', r, { once: true }));
    expect(timedOut).toBe(1);
    expect(timed.signal.reason).toBeInstanceOf(TimeoutError);
    timed.dispose();

    const live = source.derive(30_000, '--timeout');
    const done = source.derive(30_000, '--timeout');
    let liveCalls = 0;
    let doneCalls = 0;
    live.onAbort?.({ handleEvent: () => (liveCalls += 1) });
    done.onAbort?.({ handleEvent: () => (doneCalls += 1) });
    done.dispose();
    root.abort(new Error('ctrl-c'));
    expect(liveCalls).toBe(1);
    expect(doneCalls).toBe(0);
    live.dispose();
  });

  it('a disposed attempt is not aborted by a later parent abort', () => {
    const root = new AbortController();
    const source = new DeadlineSignals(root.signal);
    const d = source.derive(30_000, '--timeout');
    const signal = d.signal;
    d.dispose();
    root.abort(new Error('later'));
    expect(signal.aborted).toBe(false);
  });

  it("calls the attempt's onAbort callback on timeout, never once cleared or disposed, and still reuses the signal", async () => {
    const root = new AbortController();
    const source = new DeadlineSignals(root.signal);
    const timed = source.derive(5, '--timeout');
    const fired = await new Promise<unknown>((resolve) =>
      timed.onAbort?.(() => resolve(timed.signal.reason)),
    );
    expect(fired).toBeInstanceOf(TimeoutError);
    timed.dispose();

    // Cleared before the parent aborts: not called. Disposed with a callback set: clean and reused.
    let calls = 0;
    const a = source.derive(30_000, '--timeout');
    a.onAbort?.(() => {
      calls += 1;
    });
    a.onAbort?.(undefined);
    const b = source.derive(30_000, '--timeout');
    b.onAbort?.(() => {
      calls += 1;
    });
    const bSignal = b.signal;
    b.dispose();
    const c = source.derive(30_000, '--timeout');
    expect(c.signal).toBe(bSignal);
    root.abort(new Error('ctrl-c'));
    expect(a.signal.aborted && c.signal.aborted).toBe(true);
    expect(calls).toBe(0);
    a.dispose();
    c.dispose();
  });

  it('a reused slot keeps timing out: its idle timer firing in between does nothing, and a new attempt gets a fresh full timeout', async () => {
    const source = new DeadlineSignals(new AbortController().signal);
    const first = source.derive(15, '--timeout');
    const signal = first.signal;
    first.dispose();
    // The idle slot's timer runs out while no attempt holds it: nothing aborts.
    await new Promise((r) => setTimeout(r, 40));
    expect(signal.aborted).toBe(false);
    const second = source.derive(15, '--timeout');
    expect(second.signal).toBe(signal);
    const startedAt = performance.now();
    await new Promise((r) => second.signal.addEventListener('abort', r, { once: true }));
    // Measured from this attempt's start, not the first one's (clock slack for a loaded machine).
    expect(performance.now() - startedAt).toBeGreaterThanOrEqual(14);
    expect((second.signal.reason as Error).message).toBe('timed out after 15.0ms (--timeout)');
    second.dispose();
  });

  it("a slot reused while its timer is still armed for the last attempt waits out the new attempt's full timeout", async () => {
    const source = new DeadlineSignals(new AbortController().signal);
    const first = source.derive(60, '--timeout');
    first.dispose();
    // Half way through the first attempt's timeout, the slot serves a second attempt.
    await new Promise((r) => setTimeout(r, 30));
    const second = source.derive(60, '--timeout');
    expect(second.signal).toBe(first.signal);
    const startedAt = performance.now();
    await new Promise((r) => second.signal.addEventListener('abort', r, { once: true }));
    // Never early: the old timer fires ~30 ms in, and the slot waits out the rest (1 ms timer slack).
    expect(performance.now() - startedAt).toBeGreaterThanOrEqual(59);
    second.dispose();
  });

  it('a slot reused with another duration or flag times out by the new one', async () => {
    const source = new DeadlineSignals(new AbortController().signal);
    const first = source.derive(30_000, '--timeout');
    first.dispose();
    const second = source.derive(10, '--max-time');
    await new Promise((r) => second.signal.addEventListener('abort', r, { once: true }));
    expect((second.signal.reason as Error).message).toBe('timed out after 10.0ms (--max-time)');
    second.dispose();
  });

  it('an idle pool does not keep the process alive, and dispose() clears its timers', async () => {
    const { spawnSync } = await import('node:child_process');
    const { fileURLToPath } = await import('node:url');
    const dist = fileURLToPath(new URL('../../dist/middleware/timeout.js', import.meta.url));
    const script = `const { DeadlineSignals } = await import(${JSON.stringify(dist)});
      const source = new DeadlineSignals(new AbortController().signal);
      const a = source.derive(60000, '--timeout'); const b = source.derive(60000, '--timeout');
      a.dispose(); b.dispose(); const t0 = Date.now();
      process.on('exit', () => console.log(Date.now() - t0 < 5000 ? 'exited' : 'held'));`;
    const res = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(res.stdout.trim()).toBe('exited');
  });
});
