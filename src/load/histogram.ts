import { createRequire } from 'node:module';
import { deflateSync, inflateSync } from 'node:zlib';
import type Int32HistogramModule from 'hdr-histogram-js/dist/Int32Histogram.js';

const requireCjs = createRequire(import.meta.url);
// Deep require of the pure-JS class: the package index also loads the WebAssembly build and every
// histogram flavour (~75 ms); this one loads in ~15 ms. `require` gives the same CommonJS `default`
// under Node and under vitest, where an ESM default import differs. Required with the first
// histogram: this module is imported by the option tables (--push-url), so a one-shot call that
// never records a histogram must not pay for loading the package.
type Int32HistogramClass = typeof Int32HistogramModule.default;
type Int32Histogram = InstanceType<Int32HistogramClass>;
let int32Histogram: Int32HistogramClass | undefined;
function Int32HistogramClass(): Int32HistogramClass {
  int32Histogram ??= (requireCjs('hdr-histogram-js/dist/Int32Histogram.js') as typeof Int32HistogramModule)
    .default;
  return int32Histogram;
}

/**
 * HdrHistogram's V2 decoder (merges, reports): loaded when a histogram is first decoded. Encoding is
 * ours (`encodeV2Compressed`): the library's codec module pulls in pako, ~45 ms of CPU at the start
 * of every load run, to compress with node:zlib in the end anyway.
 */
interface HdrCodec {
  doDecode(data: Uint8Array, bitBucketSize: 32): Int32Histogram;
}
let codec: HdrCodec | undefined;
function hdrCodec(): HdrCodec {
  codec ??= requireCjs('hdr-histogram-js/dist/JsHistogram.encoding.js') as HdrCodec;
  return codec;
}
/** HdrHistogram's "V2 compressed" cookie (0x1c849304 | 0x10): what Java, Go and JS HdrHistogram decode. */
const COMPRESSED_COOKIE = 0x1c849314;
/** The uncompressed V2 cookie with the LEB128-ZigZag word size flag (0x1c849303 | 0x10). */
const ENCODING_COOKIE = 0x1c849313;
const TWO_POW_32 = 2 ** 32;

/** The counts-array view of a JsHistogram the V2 encoding reads (public in hdr-histogram-js). */
interface CountsView {
  readonly maxValue: number;
  readonly numberOfSignificantValueDigits: number;
  readonly lowestDiscernibleValue: number;
  readonly highestTrackableValue: number;
  countsArrayIndex(value: number): number;
  getCountAtIndex(index: number): number;
}

/** One count (>= 0) or a run of zeros (< 0) as HdrHistogram's ZigZag LEB128-64b9B word. */
function pushZigZag(out: number[], value: number): void {
  let z = value >= 0 ? value * 2 : -value * 2 - 1;
  for (let i = 0; i < 8 && z >= 128; i++) {
    out.push((z % 128) | 0x80);
    z = Math.floor(z / 128);
  }
  out.push(z);
}

function pushInt32(out: number[], value: number): void {
  const v = value >>> 0;
  out.push(v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff);
}

function pushInt64(out: number[], value: number): void {
  pushInt32(out, Math.floor(value / TWO_POW_32));
  pushInt32(out, value % TWO_POW_32);
}

/**
 * HdrHistogram's V2 compressed encoding, in base64: byte for byte what hdr-histogram-js's
 * `encodeIntoCompressedBase64()` returns (same header fields, same zero-run words, node:zlib's
 * default deflate), so every HdrHistogram decoder reads it.
 */
function encodeV2Compressed(h: CountsView): string {
  const words: number[] = [];
  const limit = h.countsArrayIndex(h.maxValue) + 1;
  let i = 0;
  while (i < limit) {
    const count = h.getCountAtIndex(i++);
    if (count !== 0) {
      pushZigZag(words, count);
      continue;
    }
    let zeros = 1;
    while (i < limit && h.getCountAtIndex(i) === 0) {
      zeros += 1;
      i += 1;
    }
    pushZigZag(words, zeros > 1 ? -zeros : 0);
  }
  const head: number[] = [];
  pushInt32(head, ENCODING_COOKIE);
  pushInt32(head, words.length);
  pushInt32(head, 1); // normalizing index offset, as hdr-histogram-js writes it
  pushInt32(head, h.numberOfSignificantValueDigits);
  pushInt64(head, h.lowestDiscernibleValue);
  pushInt64(head, h.highestTrackableValue);
  pushInt64(head, 1); // integer-to-double conversion ratio
  const compressed = deflateSync(Buffer.from([...head, ...words]));
  const out = Buffer.allocUnsafe(8 + compressed.length);
  out.writeInt32BE(COMPRESSED_COOKIE | 0, 0);
  out.writeInt32BE(compressed.length, 4);
  compressed.copy(out, 8);
  return out.toString('base64');
}

/**
 * A histogram as it travels in --json summaries and between workers: HdrHistogram's standard V2
 * compressed encoding in base64 (the same bytes `encodeIntoCompressedBase64` of hdr-histogram-js,
 * HdrHistogram Java and Go produce; values in microseconds), plus the exact moments kept beside it.
 * Adding two of these is exact: bucket counts add, moments combine (Chan et al.).
 */
export interface EncodedLatency {
  /** HdrHistogram V2 compressed, base64; values are microseconds. */
  hdr: string;
  count: number;
  /** Exact, in ms. */
  min: number;
  max: number;
  mean: number;
  /** Sum of squared deviations from the mean (Welford's M2), in ms². */
  m2: number;
}

/**
 * A run that completed no call has no latency: every figure null (a 0 would read as "instant").
 */
export type NoLatency = { readonly [K in keyof LatencySummary]: null };
export const NO_LATENCY: NoLatency = {
  min: null,
  mean: null,
  stdev: null,
  p50: null,
  p90: null,
  p99: null,
  p999: null,
  max: null,
};

/** The contract's latency figures, in milliseconds. */
export interface LatencySummary {
  min: number;
  mean: number;
  stdev: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
}

/** One bar of the terminal histogram: calls whose latency fell in [fromMs, toMs). */
export interface LatencyBin {
  fromMs: number;
  toMs: number;
  count: number;
}

/** 1 hour in microseconds: slower calls are clamped to it (no run waits that long for one call). */
const HIGHEST_US = 3_600_000_000;
/**
 * Values below this many microseconds (65.5 ms, most calls of a load run) are counted in a plain
 * array first and added to the HDR histogram, exactly, when something reads it: HDR's bucket index
 * costs a log2 and two pow per value (~1% of a WebSocket echo run's CPU).
 */
const PENDING_BELOW_US = 65_536;

/**
 * Latency recorder with fixed memory however long the run: an HDR histogram (3 significant digits,
 * 1 µs to 1 h, ~90 KB) for percentiles, plus exact min/max/mean/stdev (Welford) kept alongside, so
 * the figures that do not need buckets are not rounded to them.
 */
export class LatencyHistogram {
  readonly #hdr: Int32Histogram;
  /** Counts per microsecond value below PENDING_BELOW_US not yet in #hdr (allocated on first record). */
  #pending: Uint32Array | undefined;
  #pendingCount = 0;
  #count = 0;
  #mean = 0;
  #m2 = 0;
  #min = Number.POSITIVE_INFINITY;
  #max = 0;

  constructor() {
    // Encoding needs no module loaded later: a run at its open-files limit (-c 400 under
    // `ulimit -n 120`) can still encode its summary at the end.
    this.#hdr = new (Int32HistogramClass())(1, HIGHEST_US, 3);
  }

  get count(): number {
    return this.#count;
  }

  /** Record one latency in milliseconds (fractions kept to the microsecond). */
  record(ms: number): void {
    const value = Math.max(ms, 0);
    const us = Math.min(HIGHEST_US, Math.round(value * 1000));
    if (us < PENDING_BELOW_US) {
      this.#pending ??= new Uint32Array(PENDING_BELOW_US);
      const pending = this.#pending;
      pending[us] = (pending[us] ?? 0) + 1;
      this.#pendingCount += 1;
    } else this.#hdr.recordValue(us);
    this.#count += 1;
    const delta = value - this.#mean;
    this.#mean += delta / this.#count;
    this.#m2 += delta * (value - this.#mean);
    if (value < this.#min) this.#min = value;
    if (value > this.#max) this.#max = value;
  }

  /** The HDR histogram with every recorded value in it (the pending counts added). */
  #flushed(): Int32Histogram {
    const pending = this.#pending;
    if (pending && this.#pendingCount > 0) {
      for (let us = 0; us < PENDING_BELOW_US; us++) {
        const n = pending[us] ?? 0;
        if (n === 0) continue;
        this.#hdr.recordValueWithCount(us, n);
        pending[us] = 0;
      }
      this.#pendingCount = 0;
    }
    return this.#hdr;
  }

  /** The latency at percentile `p` (0-100), in ms; 0 when nothing was recorded. */
  percentile(p: number): number {
    if (this.#count === 0) return 0;
    // HDR reports the highest value equivalent to the bucket: clamp to the exact max so p100 <= max.
    return Math.min(this.#flushed().getValueAtPercentile(p) / 1000, this.#max);
  }

  summary(): LatencySummary {
    if (this.#count === 0) return { min: 0, mean: 0, stdev: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0 };
    return {
      min: round3(this.#min),
      mean: round3(this.#mean),
      stdev: round3(this.#count > 1 ? Math.sqrt(this.#m2 / (this.#count - 1)) : 0),
      p50: round3(this.percentile(50)),
      p90: round3(this.percentile(90)),
      p99: round3(this.percentile(99)),
      p999: round3(this.percentile(99.9)),
      max: round3(this.#max),
    };
  }

  /**
   * Counts in `n` bins spaced logarithmically from min to max (latency spreads over orders of
   * magnitude; linear bins would put everything in the first one). Read from the HDR counts, so it
   * costs one pass over ~23k slots whatever the request count.
   */
  bins(n: number): LatencyBin[] {
    if (this.#count === 0 || n < 1) return [];
    const lo = Math.max(this.#min, 0.001);
    const hi = Math.max(this.#max, lo * 1.000001);
    const ratio = (hi / lo) ** (1 / n);
    const edges = Array.from({ length: n + 1 }, (_, i) => (i === n ? hi : lo * ratio ** i));
    const bins: LatencyBin[] = [];
    for (let i = 0; i < n; i++) bins.push({ fromMs: edges[i] ?? lo, toMs: edges[i + 1] ?? hi, count: 0 });
    const hdr = this.#flushed();
    for (let idx = 0; idx < hdr.countsArrayLength; idx++) {
      const c = hdr.getCountAtIndex(idx);
      if (c === 0) continue;
      const ms = hdr.valueFromIndex(idx) / 1000;
      let b = ms <= lo ? 0 : Math.floor(Math.log(ms / lo) / Math.log(ratio));
      if (b >= n) b = n - 1;
      if (b < 0) b = 0;
      const bin = bins[b];
      if (bin) bin.count += c;
    }
    return bins;
  }

  /**
   * For each bound (ms, ascending), how many recorded values are at or below it: Prometheus's
   * cumulative `le` buckets. A value counts when its HDR bucket starts at or below the bound (HDR
   * keeps 3 significant digits, so a value within 0.1% above a bound may count under it).
   */
  countAtOrBelow(boundsMs: readonly number[]): number[] {
    const out = boundsMs.map(() => 0);
    const hdr = this.#flushed();
    for (let idx = 0; idx < hdr.countsArrayLength; idx++) {
      const c = hdr.getCountAtIndex(idx);
      if (c === 0) continue;
      const us = hdr.valueFromIndex(idx);
      for (let b = boundsMs.length - 1; b >= 0 && us <= (boundsMs[b] ?? 0) * 1000; b--)
        out[b] = (out[b] ?? 0) + c;
    }
    return out;
  }

  /** The histogram and exact moments, for --json summaries and merging (see EncodedLatency). */
  encode(): EncodedLatency {
    const hdr = encodeV2Compressed(this.#flushed() as unknown as CountsView);
    return {
      hdr,
      count: this.#count,
      min: this.#count === 0 ? 0 : this.#min,
      max: this.#max,
      mean: this.#mean,
      m2: this.#m2,
    };
  }

  /** Rebuild a histogram from its encoded form (throws on a malformed one). */
  static decode(encoded: EncodedLatency): LatencyHistogram {
    const bytes = Buffer.from(encoded.hdr, 'base64');
    if (bytes.length < 8 || (bytes.readInt32BE(0) & ~0xf0) !== (COMPRESSED_COOKIE & ~0xf0))
      throw new Error('not an HdrHistogram V2 compressed histogram');
    const length = bytes.readInt32BE(4);
    const decoded = hdrCodec().doDecode(inflateSync(bytes.subarray(8, 8 + length)), 32);
    const h = new LatencyHistogram();
    h.#hdr.add(decoded);
    h.#count = encoded.count;
    h.#mean = encoded.mean;
    h.#m2 = encoded.m2;
    h.#min = encoded.count === 0 ? Number.POSITIVE_INFINITY : encoded.min;
    h.#max = encoded.max;
    return h;
  }

  /**
   * Add another histogram's calls to this one, exactly: bucket counts add (never percentiles
   * averaged), count/min/max combine, mean and M2 combine by Chan et al.'s parallel formula.
   */
  add(other: LatencyHistogram): void {
    if (other.#count === 0) return;
    this.#flushed().add(other.#flushed());
    const n = this.#count + other.#count;
    const delta = other.#mean - this.#mean;
    this.#m2 += other.#m2 + (delta * delta * this.#count * other.#count) / n;
    this.#mean += (delta * other.#count) / n;
    this.#count = n;
    if (other.#min < this.#min) this.#min = other.#min;
    if (other.#max > this.#max) this.#max = other.#max;
  }

  /**
   * The percentile distribution as HdrHistogram plots it: latency at percentiles 0..99.9999, spaced
   * evenly on a log scale of 1/(1-p), for the report's distribution chart.
   */
  distribution(): { percentile: number; ms: number }[] {
    if (this.#count === 0) return [];
    const points: { percentile: number; ms: number }[] = [];
    for (let x = 0; x <= 6; x += 0.05) {
      const p = 100 * (1 - 10 ** -x);
      points.push({ percentile: Math.round(p * 1e6) / 1e6, ms: round3(this.percentile(p)) });
    }
    points.push({ percentile: 100, ms: round3(this.#max) });
    return points;
  }

  reset(): void {
    this.#hdr.reset();
    this.#pending?.fill(0);
    this.#pendingCount = 0;
    this.#count = 0;
    this.#mean = 0;
    this.#m2 = 0;
    this.#min = Number.POSITIVE_INFINITY;
    this.#max = 0;
  }
}

function round3(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
