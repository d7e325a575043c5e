import type { CommandContext } from '../../command/context.js';
import { type OutputValues, outputFrom } from '../../command/shared-options.js';
import { parseDuration } from '../../core/duration.js';
import { UsageError } from '../../errors/comms-error.js';
import { Output } from '../../output/output.js';
import { messageShape } from '../../output/stream-message.js';
import type { StoredEvent } from '../event.js';
import type { EventFilter } from '../store.js';

/** The command's Output, on the context's streams. */
export function outputOf(values: OutputValues, ctx: CommandContext): Output {
  return new Output(outputFrom(values), ctx.stdout, ctx.stderr);
}

/** `--since 2024-05-01T10:00:00Z` or `--since 10m` (that long ago), as ms since epoch. */
export function parseSince(text: string | undefined, now = Date.now()): number | undefined {
  if (text === undefined) return undefined;
  if (/^(\d+(\.\d+)?\s*(us|ms|s|m|h))$|^(\d+(\.\d+)?(us|ms|s|m|h))+$/.test(text.trim()))
    return now - parseDuration(text, '--since');
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) {
    throw new UsageError(`invalid --since '${text}'`, {
      hint: 'an ISO time (2024-05-01T10:00:00Z) or a duration ago (10m, 1h)',
    });
  }
  return ms;
}

export function filterFrom(values: { type?: string[]; since?: string; aggregate?: string }): EventFilter {
  const sinceMs = parseSince(values.since);
  return {
    ...(values.type && values.type.length > 0 ? { types: values.type } : {}),
    ...(sinceMs !== undefined ? { sinceMs } : {}),
    ...(values.aggregate !== undefined ? { aggregate: values.aggregate } : {}),
  };
}

/**
 * One event received by `events tail --json`, in the contract's one message shape (the same field
 * names as nats/grpc/ws/sse/amqp/mqtt): `{"type":"message", transport:"events", n, subject, headers,
 * data, encoding:"json", size, received}`. `subject` is the event's aggregate (the stream it belongs
 * to; on the JetStream store it is also the last token of its NATS subject), `headers` its metadata
 * (correlationId, causationId, --meta), `data` the whole event as `events read --json` prints it,
 * `size` the UTF-8 bytes of that event as JSON, `received` when tail read it (the append time is
 * `data.time`).
 */
export function tailRecord(e: StoredEvent, n: number, received: Date = new Date()): Record<string, unknown> {
  return messageShape({
    transport: 'events',
    n,
    where: 'subject',
    name: e.aggregate,
    headers: e.metadata ?? {},
    data: e,
    encoding: 'json',
    size: Buffer.byteLength(JSON.stringify(e)),
    received,
  });
}

/** One event for people: `#17 order-42@v3 OrderPaid 2024-05-01T10:00:00.000Z {"total":12.5}`. */
export function formatEvent(out: Output, e: StoredEvent): string {
  const c = out.cOut;
  return `${c.dim(`#${e.position}`)} ${c.bold(`${terminalSafe(e.aggregate)}@v${e.version}`)} ${c.cyan(terminalSafe(e.type))} ${c.dim(terminalSafe(String(e.time)))} ${terminalSafe(JSON.stringify(e.data) ?? 'null')}\n`;
}

/**
 * Text from the store (ids, types, handler names, error messages: anything another writer or a peer
 * chose) made safe for a terminal: control characters (C0, DEL, C1) become `\xNN` escapes,
 * so an id cannot clear the screen or set the window title. For human lines only; --json is exact.
 */
export function terminalSafe(text: string): string {
  return text.replace(
    /[\u0000-\u001f\u007f-\u009f]/g,
    (ch) => `\\x${ch.charCodeAt(0).toString(16).padStart(2, '0')}`,
  );
}
