import {
  AckPolicy,
  type ConsumerConfig,
  DeliverPolicy,
  type JetStreamManager,
  jetstreamManager,
} from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { parseDuration } from '../../core/duration.js';
import { type CommsError, ConnectError, UsageError } from '../../errors/comms-error.js';
import type { Output } from '../../output/output.js';
import { isStreamNameInUse, natsError } from './errors.js';
import { subjectCovers } from './subject.js';

/** JetStream setup shared by publish (--stream) and subscribe (--durable, --deliver). */

function nameOf(err: unknown): string {
  return typeof err === 'object' && err !== null ? String((err as { name?: unknown }).name ?? '') : '';
}

/** JetStream errors as CommsErrors: "not enabled" is the peer's fault (exit 3), like no responders. */
export function jetstreamError(err: unknown, target: string): CommsError {
  if (nameOf(err) === 'JetStreamNotEnabled') {
    return new ConnectError(`JetStream is not enabled on the server (${target})`, {
      cause: err,
      code: 'COMMS_ERR_NATS_JETSTREAM_OFF',
      hint: 'start nats-server with -js (JetStream)',
    });
  }
  return natsError(err, target);
}

export async function manager(nc: NatsConnection, target: string): Promise<JetStreamManager> {
  try {
    return await jetstreamManager(nc);
  } catch (err) {
    throw jetstreamError(err, target);
  }
}

/** Stream names: no spaces, dots, wildcards or path separators (server rules). */
export function validateStreamName(name: string, flag: string): string {
  if (name === '' || /[\s.*>/\\]/.test(name)) {
    throw new UsageError(
      `invalid ${flag} '${name}': stream and consumer names cannot contain spaces, '.', '*', '>' or slashes`,
    );
  }
  return name;
}

/**
 * `--stream NAME` on publish: make sure the stream exists, creating it over `subject` when it does
 * not (and saying so on stderr), so a test needs no other tool. An existing stream is used as it is,
 * but only when it takes `subject`: one that does not is a usage error (exit 2) naming its subjects,
 * before anything is sent (the server would answer "no responders", which says nothing useful).
 */
export async function ensureStream(
  nc: NatsConnection,
  name: string,
  subject: string,
  output: Output,
): Promise<void> {
  const jsm = await manager(nc, name);
  try {
    const info = await jsm.streams.info(name);
    const subjects = info.config.subjects?.length ? info.config.subjects : [name];
    if (!subjects.some((pattern) => subjectCovers(pattern, subject))) {
      const shown = subjects.map((x) => `'${x}'`).join(', ');
      throw new UsageError(
        `stream ${name} exists but does not take '${subject}': its subject${subjects.length === 1 ? ' is' : 's are'} ${shown}`,
        {
          code: 'COMMS_ERR_NATS_STREAM_SUBJECTS',
          hint: `publish to a subject ${name} takes, choose another --stream name (it is created over '${subject}'), or add the subject to ${name} (nats stream edit ${name} --subjects ...)`,
        },
      );
    }
    return;
  } catch (err) {
    if (err instanceof UsageError) throw err;
    if (nameOf(err) !== 'StreamNotFoundError') throw jetstreamError(err, name);
  }
  try {
    await jsm.streams.add({ name, subjects: [subject] });
  } catch (err) {
    // Another publisher may have created it in the meantime.
    if (isStreamNameInUse(err)) return;
    throw jetstreamError(err, name);
  }
  output.info(output.c.yellow(`created stream ${name} over '${subject}'`));
}

/** The stream that stores `subject`, if any (for messages: "it lands in ORDERS, not ..."). */
export async function streamFor(nc: NatsConnection, subject: string): Promise<string | undefined> {
  try {
    const jsm = await jetstreamManager(nc, { timeout: 2_000 });
    return await jsm.streams.find(subject);
  } catch {
    return undefined;
  }
}

/** `--deliver all|new|last|seq:N|since:DUR` as consumer settings. */
export function deliverPolicy(
  spec: string,
): Pick<ConsumerConfig, 'deliver_policy'> & Partial<ConsumerConfig> {
  const s = spec.trim().toLowerCase();
  if (s === 'all') return { deliver_policy: DeliverPolicy.All };
  if (s === 'new') return { deliver_policy: DeliverPolicy.New };
  if (s === 'last') return { deliver_policy: DeliverPolicy.Last };
  if (s === 'last-per-subject') return { deliver_policy: DeliverPolicy.LastPerSubject };
  const seq = /^seq:(\d+)$/.exec(s);
  if (seq) {
    const n = Number(seq[1]);
    if (n < 1) throw new UsageError(`invalid --deliver '${spec}': sequences start at 1`);
    return { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: n };
  }
  const since = /^since:(.+)$/.exec(spec.trim());
  if (since) {
    const ms = parseDuration(since[1] ?? '', '--deliver since:');
    return {
      deliver_policy: DeliverPolicy.StartTime,
      opt_start_time: new Date(Date.now() - ms).toISOString(),
    };
  }
  throw new UsageError(`invalid --deliver '${spec}'`, {
    hint: 'use all, new, last, seq:N or since:DUR (e.g. since:10m)',
  });
}

/**
 * A durable pull consumer with explicit acks: created on first use, reused (and so resumed from its
 * acknowledged position) afterwards. An existing durable keeps its own deliver policy; we only note it.
 * An existing durable on other subjects is a usage error (exit 2) naming its filter: it is not changed,
 * since another reader may depend on it.
 */
export async function ensureDurable(
  jsm: JetStreamManager,
  stream: string,
  durable: string,
  subject: string,
  deliver: ReturnType<typeof deliverPolicy>,
  ackWaitMs: number,
  output: Output,
): Promise<void> {
  const wanted = subject === '>' ? [] : [subject];
  try {
    const info = await jsm.consumers.info(stream, durable);
    const has =
      info.config.filter_subjects ?? (info.config.filter_subject ? [info.config.filter_subject] : []);
    if (!sameFilters(has, wanted)) {
      // Reusing it would deliver the durable's subjects, not the ones asked for (and wait in vain).
      const shown = has.length ? has.map((f) => `'${f}'`).join(', ') : 'every subject of the stream';
      throw new UsageError(`durable '${durable}' on stream ${stream} reads ${shown}, not '${subject}'`, {
        hint: `subscribe to ${has.length === 1 ? `'${has[0]}'` : 'its subjects'} with --durable ${durable}, or choose another --durable name`,
      });
    }
    output.verbose(
      output.c.dim(
        `resuming durable ${durable} on ${stream} (${info.num_pending} pending, ${info.num_ack_pending} unacknowledged)`,
      ),
    );
    return;
  } catch (err) {
    if (err instanceof UsageError) throw err;
    const name = nameOf(err);
    if (name === 'StreamNotFoundError') throw streamMissing(stream, err);
    if (name !== 'ConsumerNotFoundError') throw jetstreamError(err, stream);
  }
  try {
    await jsm.consumers.add(stream, {
      durable_name: durable,
      ack_policy: AckPolicy.Explicit,
      ack_wait: ackWaitMs * 1_000_000,
      ...(subject !== '>' ? { filter_subject: subject } : {}),
      ...deliver,
    });
  } catch (err) {
    if (nameOf(err) === 'StreamNotFoundError') throw streamMissing(stream, err);
    throw jetstreamError(err, stream);
  }
  output.info(output.c.yellow(`created durable consumer ${durable} on stream ${stream}`));
}

function sameFilters(a: readonly string[], b: readonly string[]): boolean {
  const norm = (l: readonly string[]) => [...new Set(l.filter((f) => f !== '>'))].sort().join('\n');
  return norm(a) === norm(b);
}

export function streamMissing(stream: string, cause: unknown): ConnectError {
  return new ConnectError(`stream '${stream}' not found`, {
    cause,
    code: 'COMMS_ERR_NATS_NO_STREAM',
    hint: `create it first, e.g. comms-cli nats publish SUBJECT --jetstream --stream ${stream}`,
  });
}
