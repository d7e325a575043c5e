import { randomBytes } from 'node:crypto';
import { ConnectError, InterruptedError, UsageError } from '../errors/comms-error.js';
import type { ExitCode } from '../errors/exit-codes.js';
import type { DistributedRun } from '../load/distribute.js';
import { evaluateGates } from '../load/gates.js';
import { LatencyHistogram } from '../load/histogram.js';
import { mergeSummaries } from '../load/merge.js';
import type { DistributedPlan } from '../load/plan.js';
import { progressLine } from '../load/report.js';
import type { SeriesPoint } from '../load/series.js';
import type { LoadTotals } from '../load/stats.js';
import { emitSummary, type LoadSummary, type WorkerLine } from '../load/summary.js';
import {
  closeNats,
  connectNats,
  type NatsConnection,
  natsConnectOptionsFrom,
} from '../transports/nats/connection.js';
import {
  type DiscoverReply,
  type Done,
  decode,
  encode,
  FIRST_WORD_MS,
  LOST_AFTER_MS,
  type PlanReply,
  type PlanRequest,
  type Progress,
  subjects,
} from './protocol.js';
import { describeSplit, type Share, splitPlan } from './split.js';

/** How far ahead of now the agreed start instant is set: time for every worker to get its plan. */
const START_DELAY_MS = 1500;
const PLAN_TIMEOUT_MS = 5000;
const TICK_MS = 250;

interface Member {
  info: DiscoverReply;
  share: Share;
  lastSeen: number;
  /** A heartbeat of this run arrived (before that, FIRST_WORD_MS applies). */
  heard: boolean;
  running: { requests: number; errors: number };
  points: SeriesPoint[];
  done?: Done;
  lost: boolean;
}

/**
 * The coordinator of `--workers N`: find N free workers on NATS, split the plan (k6 execution
 * segments), start all at one instant, follow their heartbeats and per-second histograms, merge
 * exactly and print the same summary as a local run plus the workers. Gates are judged on the merged
 * data; --abort-on-fail stops every worker when an upper-bound gate fails mid-run; a worker silent for
 * a few seconds is lost (partial result, exit 3 unless --allow-partial); Ctrl-C stops every worker and
 * still prints the merged summary (exit 130).
 */
export async function coordinate(run: DistributedRun): Promise<ExitCode> {
  const { plan, output, signal } = run;
  const d = plan.distributed as DistributedPlan;
  const subj = subjects(d.prefix);
  const nc = await connectNats(
    natsConnectOptionsFrom(
      { server: d.server, name: 'comms-cli coordinator' } as Parameters<typeof natsConnectOptionsFrom>[0],
      { flag: '--workers-server' },
    ),
    output,
  );
  try {
    const found = await discover(nc, subj.discover, d, signal);
    const free = found.filter((w) => !w.busy && matches(w.tags, d.tags));
    if (signal.aborted) throw new InterruptedError('interrupted (Ctrl-C) while finding workers');
    if (free.length < d.workers) {
      const tags = Object.keys(d.tags).length > 0 ? ` with tags ${tagText(d.tags)}` : '';
      throw new ConnectError(
        `only ${free.length} of ${d.workers} workers answered (free${tags}) on ${subj.discover} within ${d.timeoutMs / 1000}s` +
          (found.length > free.length ? `; ${found.length - free.length} more busy or not matching` : ''),
        {
          code: 'COMMS_ERR_WORKERS',
          hint: 'start more with `comms-cli worker --server URL` (same --prefix), or lower --workers',
        },
      );
    }
    const chosen = free.slice(0, d.workers).sort((a, b) => a.name.localeCompare(b.name));
    const { inlineGrpcSchema } = await import('./inline-schema.js');
    const { argv, protoset } = await inlineGrpcSchema(run.argv);
    const shares = splitPlan(argv, plan, chosen.length);
    output.info(
      output.c.dim(
        describeSplit(
          shares,
          chosen.map((w) => w.name),
        ),
      ),
    );
    return await drive(nc, subj, chosen, shares, run, protoset);
  } finally {
    await closeNats(nc);
  }
}

function matches(tags: Record<string, string>, wanted: Record<string, string>): boolean {
  return Object.entries(wanted).every(([k, v]) => tags[k] === v);
}

function tagText(tags: Record<string, string>): string {
  return Object.entries(tags)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

/** Ask the pool who is there; stop early once enough free, matching workers answered. */
function discover(
  nc: NatsConnection,
  subject: string,
  d: DistributedPlan,
  signal: AbortSignal,
): Promise<DiscoverReply[]> {
  const inbox = `_INBOX.${randomBytes(10).toString('hex')}`;
  const found = new Map<string, DiscoverReply>();
  return new Promise((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    const finish = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', finish);
      sub.unsubscribe();
      resolve([...found.values()]);
    };
    const sub = nc.subscribe(inbox, {
      callback: (_err, msg) => {
        try {
          const r = decode<DiscoverReply>(msg.data);
          if (typeof r.id === 'string' && typeof r.name === 'string')
            found.set(r.id, { ...r, tags: r.tags ?? {} });
        } catch {
          return;
        }
        const free = [...found.values()].filter((w) => !w.busy && matches(w.tags, d.tags)).length;
        if (free >= d.workers) finish();
      },
    });
    timer = setTimeout(finish, d.timeoutMs);
    signal.addEventListener('abort', finish, { once: true });
    nc.publish(subject, encode({ tags: d.tags }), { reply: inbox });
  });
}

async function drive(
  nc: NatsConnection,
  subj: ReturnType<typeof subjects>,
  chosen: readonly DiscoverReply[],
  shares: readonly Share[],
  run: DistributedRun,
  protoset: string | undefined,
): Promise<ExitCode> {
  const { plan, output, signal } = run;
  const d = plan.distributed as DistributedPlan;
  const runId = randomBytes(6).toString('hex');
  const members = new Map<string, Member>(
    chosen.map((info, i) => [
      info.id,
      {
        info,
        share: shares[i] as Share,
        lastSeen: Date.now(),
        heard: false,
        running: { requests: 0, errors: 0 },
        points: [],
        lost: false,
      },
    ]),
  );
  const startAt = Date.now() + START_DELAY_MS;
  const cumulative = new LatencyHistogram();
  let abortedBy: string | undefined;
  let stopped = false;
  const stopAll = () => {
    if (stopped) return;
    stopped = true;
    nc.publish(subj.stop(runId), encode({ run: runId }));
  };
  let wake: (() => void) | undefined;

  const progressSub = nc.subscribe(subj.progress(runId), {
    callback: (_err, msg) => {
      let p: Progress;
      try {
        p = decode<Progress>(msg.data);
      } catch {
        return;
      }
      const m = members.get(p.id);
      if (!m) return;
      m.lastSeen = Date.now();
      m.heard = true;
      m.running = p.running ?? m.running;
      if (p.point && p.replaces) {
        // The share's short final tail, folded into its previous point: replace that point. The
        // running histogram (live line, --abort-on-fail) misses only that tail: the share is over.
        m.points.pop();
        m.points.push(p.point);
      } else if (p.point) {
        m.points.push(p.point);
        cumulative.add(LatencyHistogram.decode(p.point.latency));
        if (plan.abortOnFail && abortedBy === undefined) {
          abortedBy = failingGate(plan.gates, members, cumulative, startAt);
          if (abortedBy) {
            output.info(output.c.red(`gate failed mid-run: ${abortedBy}; stopping every worker`));
            stopAll();
          }
        }
      }
    },
  });
  const doneSub = nc.subscribe(subj.done(runId), {
    callback: (_err, msg) => {
      let done: Done;
      try {
        done = decode<Done>(msg.data);
      } catch {
        return;
      }
      const m = members.get(done.id);
      if (!m) return;
      m.done = done;
      m.lost = false;
      wake?.();
    },
  });
  await nc.flush();
  const replies = await Promise.all(
    [...members.values()].map(async (m) => {
      const req: PlanRequest = {
        run: runId,
        argv: m.share.argv,
        startAt,
        ...(protoset !== undefined ? { protoset } : {}),
      };
      try {
        const msg = await nc.request(subj.plan(m.info.id), encode(req), { timeout: PLAN_TIMEOUT_MS });
        return { m, reply: decode<PlanReply>(msg.data) };
      } catch (err) {
        return { m, reply: { ok: false, reason: `no answer (${(err as Error).message})` } as PlanReply };
      }
    }),
  );
  const refused = replies.filter((r) => !r.reply.ok);
  if (refused.length > 0) {
    stopAll();
    await nc.flush().catch(() => undefined);
    progressSub.unsubscribe();
    doneSub.unsubscribe();
    const lines = refused.map(
      (r) => `worker ${r.m.info.name} refused the plan: ${(r.reply as { reason: string }).reason}`,
    );
    const unreachable = refused.every((r) => (r.reply as { reason: string }).reason.startsWith('no answer'));
    if (unreachable) throw new ConnectError(lines.join('; '), { code: 'COMMS_ERR_WORKERS' });
    throw new UsageError(lines.join('; '), {
      code: 'COMMS_ERR_PLAN_REFUSED',
      hint: 'workers run only call commands in load mode, read no local files, run no programs, and reach only their --allow-targets',
    });
  }
  output.info(
    output.c.dim(`run ${runId}: ${members.size} workers start at ${new Date(startAt).toISOString()}`),
  );

  const onAbort = () => {
    stopAll();
    wake?.();
  };
  signal.addEventListener('abort', onAbort, { once: true });
  const tty = output.stderrIsTTY && !output.options.quiet;
  await new Promise<void>((resolve) => {
    const check = () => {
      const now = Date.now();
      for (const m of members.values()) {
        if (!m.done && !m.lost && now - m.lastSeen > (m.heard ? LOST_AFTER_MS : FIRST_WORD_MS)) {
          m.lost = true;
          if (tty) output.clearProgress();
          output.info(
            output.c.red(
              `worker ${m.info.name} lost: no word for ${((now - m.lastSeen) / 1000).toFixed(1)}s`,
            ),
          );
        }
      }
      if ([...members.values()].every((m) => m.done || m.lost)) {
        clearInterval(timer);
        resolve();
        return;
      }
      if (tty && now >= startAt) {
        const done = [...members.values()].reduce(
          (a, m) => a + (m.done?.summary?.requests ?? m.running.requests),
          0,
        );
        const errors = [...members.values()].reduce(
          (a, m) => a + (m.done?.summary?.errors ?? m.running.errors),
          0,
        );
        // Workers report once a second: the current rate is the sum of their last seconds.
        const rps = [...members.values()].reduce((a, m) => a + (m.done ? 0 : (m.points.at(-1)?.rps ?? 0)), 0);
        const line = progressLine(output, {
          done,
          ...(plan.requests !== undefined ? { total: plan.requests } : {}),
          elapsedMs: now - startAt,
          ...(plan.durationMs !== undefined ? { durationMs: plan.durationMs } : {}),
          currentRps: rps,
          errors,
          p99: cumulative.percentile(99),
          warmup: now - startAt < plan.warmupMs,
        });
        output.progress(`${line} · ${members.size} workers`);
      }
    };
    const timer = setInterval(check, TICK_MS);
    wake = check;
  });
  signal.removeEventListener('abort', onAbort);
  if (tty) output.clearProgress();
  progressSub.unsubscribe();
  doneSub.unsubscribe();

  const parts: { name: string; summary: LoadSummary }[] = [];
  const lost: WorkerLine[] = [];
  for (const m of members.values()) {
    if (m.done?.summary) parts.push({ name: m.info.name, summary: { ...m.done.summary, series: m.points } });
    else {
      if (m.done?.error) output.error({ message: `worker ${m.info.name}: ${m.done.error}` });
      const secs = Math.max(0.001, (m.lastSeen - startAt) / 1000);
      lost.push({
        name: m.info.name,
        requests: m.running.requests,
        errors: m.running.errors,
        rps: Math.round((m.running.requests / secs) * 10) / 10,
      });
    }
  }
  const merged = mergeSummaries(parts, {
    gates: plan.gates,
    interrupted: signal.aborted ? interruption(signal) : undefined,
    abortedBy,
    lost,
    allowPartial: d.allowPartial,
  });
  await emitSummary(output, merged, { json: output.options.json || plan.jsonAll });
  if (plan.reports.length > 0) {
    const { writeReports } = await import('../load/reports.js');
    await writeReports(plan.reports, merged, output);
  }
  return merged.exit;
}

function interruption(signal: AbortSignal): { code?: string } {
  const code = (signal.reason as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? { code } : {};
}

/** --abort-on-fail: the first upper-bound gate the merged running data already misses. */
function failingGate(
  gates: DistributedRun['plan']['gates'],
  members: ReadonlyMap<string, Member>,
  cumulative: LatencyHistogram,
  startAt: number,
): string | undefined {
  const upper = gates.filter((g) => g.bound === 'max');
  const requests = cumulative.count;
  if (upper.length === 0 || requests === 0) return undefined;
  let errors = 0;
  for (const m of members.values()) errors += m.points.reduce((a, p) => a + p.errors, 0);
  const secs = Math.max(0.001, (Date.now() - startAt) / 1000);
  const totals = {
    requests,
    errors,
    errorRate: (100 * errors) / requests,
    rps: requests / secs,
    latency: cumulative.summary(),
  } as LoadTotals;
  return evaluateGates(upper, totals).find((g) => !g.ok)?.message;
}
