/**
 * The monotonic clock every duration in comms-cli is read from: `performance.now()` semantics
 * (fractional milliseconds since an origin) on the same monotonic source (process.hrtime). Not
 * node:perf_hooks: importing it loads eight modules (event-loop histograms, user timing, resource
 * timing) that a one-shot call never uses, ~1 ms of start-up. A reading costs ~10 ns more than
 * perf_hooks' native `now()` (70 against 60 ns, 5M calls), a few readings per call in load mode.
 * All code reads this one clock, so readings from different modules can be subtracted.
 */
const origin = process.hrtime();
const originMs = origin[0] * 1e3 + origin[1] / 1e6;

export const performance = {
  now(): number {
    const t = process.hrtime();
    return t[0] * 1e3 + t[1] / 1e6 - originMs;
  },
};
