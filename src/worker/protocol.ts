import type { SeriesPoint } from '../load/series.js';
import type { LoadSummary } from '../load/summary.js';

/**
 * The pool's wire protocol: JSON on NATS subjects under a prefix (default `comms.load`), so pools
 * with different prefixes never see each other's runs.
 *
 * - `<prefix>.discover`            coordinator -> all workers (request, many replies): DiscoverReply
 * - `<prefix>.w.<id>.plan`         coordinator -> one worker (request/reply): PlanRequest -> PlanReply
 * - `<prefix>.run.<run>.progress`  worker -> coordinator, every second: Progress (heartbeat + interval)
 * - `<prefix>.run.<run>.done`      worker -> coordinator, once: Done
 * - `<prefix>.run.<run>.stop`      coordinator -> the run's workers: stop now (Ctrl-C, failed gate)
 */
export const subjects = (prefix: string) => ({
  discover: `${prefix}.discover`,
  plan: (id: string) => `${prefix}.w.${id}.plan`,
  progress: (run: string) => `${prefix}.run.${run}.progress`,
  done: (run: string) => `${prefix}.run.${run}.done`,
  stop: (run: string) => `${prefix}.run.${run}.stop`,
});

export interface DiscoverReply {
  id: string;
  name: string;
  tags: Record<string, string>;
  busy: boolean;
}

export interface PlanRequest {
  run: string;
  /** The call command's argv (this worker's share), as a user would type it. */
  argv: string[];
  /** Epoch ms: every worker starts at this instant. */
  startAt: number;
  /**
   * gRPC plans whose schema came from --proto/--protoset on the coordinator: that schema as a
   * base64 FileDescriptorSet. The worker writes it to its private temp folder and adds --protoset.
   */
  protoset?: string;
}

/** The largest schema a plan may carry (decoded bytes); NATS's default max payload is 1 MB. */
export const MAX_PROTOSET_BYTES = 768 * 1024;

export type PlanReply = { ok: true } | { ok: false; reason: string };

export interface Progress {
  id: string;
  name: string;
  /** A measured second just closed (absent on a plain heartbeat). */
  point?: SeriesPoint;
  /** The point stands for the previous one too (the run's short tail folded into it). */
  replaces?: boolean;
  running: { requests: number; errors: number };
}

export interface Done {
  id: string;
  name: string;
  exit: number;
  /** The share's summary, without series (the coordinator has the points from Progress). */
  summary?: LoadSummary;
  /** Why there is no summary (the plan failed before load started). */
  error?: string;
}

/** How often a worker reports, and how long silence means it is gone. */
export const HEARTBEAT_MS = 1000;
export const LOST_AFTER_MS = 5000;
/**
 * Before a worker's first heartbeat of a run it may be loading the command's transport on a busy
 * machine (a cold start compiles undici, gRPC...): it gets longer before it counts as lost.
 */
export const FIRST_WORD_MS = 10_000;

const enc = new TextEncoder();
const dec = new TextDecoder();
export const encode = (v: unknown): Uint8Array => enc.encode(JSON.stringify(v));
export const decode = <T>(data: Uint8Array): T => JSON.parse(dec.decode(data)) as T;
