/**
 * The monotonic clock every duration in comms-cli is read from: `performance.now()` semantics
 * (fractional milliseconds since an origin), the same source (process.hrtime) and the same
 * arithmetic as Node's own. Not node:perf_hooks: importing it loads eight modules (event-loop
 * histograms, user timing, resource timing) that a one-shot call never uses, ~1-2 ms of start-up.
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
