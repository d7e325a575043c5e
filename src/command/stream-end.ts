import { performance } from '../core/clock.js';
import { TimeoutError } from '../errors/comms-error.js';
import { ExitCode } from '../errors/exit-codes.js';
import type { Output } from '../output/output.js';
import type { StreamJudge } from './expect-options.js';

/**
 * How the subscribers (nats subscribe, amqp consume, mqtt subscribe) end a stream: one summary line on
 * stderr, then the stream expectations, Ctrl-C and --timeout decide the exit code the same way for
 * every broker. What a closed connection means differs by broker, so that case stays with the caller.
 */

/** Why a subscriber stopped receiving; each broker adds its own ways ('cancelled', ...). */
export type StreamStop = 'count' | 'timeout' | 'interrupted' | 'closed' | (string & {});

/** `orders.*: 12 messages in 1.20s (10 msgs/s)` on stderr, unless -q. */
export function writeStreamSummary(
  output: Output,
  where: string,
  received: number,
  startedAt: number,
  extra = '',
): void {
  if (output.options.quiet) return;
  const ms = performance.now() - startedAt;
  const rate = ms > 0 ? (received * 1000) / ms : 0;
  const perSecond = received > 1 ? ` (${rate.toFixed(rate < 10 ? 1 : 0)} msgs/s)` : '';
  const summary = `${received} message${received === 1 ? '' : 's'} in ${output.ms(ms)}${perSecond}${extra}`;
  output.err.write(`${output.c.dim(`${where}: ${summary}`)}\n`);
}

/**
 * The exit code of a stream that stopped for `reason`: the expectations' verdict first (exit 0 or 1),
 * then Ctrl-C (130) and --timeout (exit 4 unless --count's messages, or one, arrived). Errors are
 * written to `output`. Undefined for every other reason: the caller decides (a closed connection).
 */
export function streamExitCode(end: {
  output: Output;
  judge: StreamJudge;
  where: string;
  received: number;
  count: number | undefined;
  timeoutMs: number | undefined;
  reason: StreamStop | undefined;
}): ExitCode | undefined {
  const { output, judge, where, received, count } = end;
  const verdict = judge.end({
    interrupted: end.reason === 'interrupted',
    timedOut: end.reason === 'timeout',
    where,
  });
  if (verdict === 'ok') return ExitCode.ok;
  if (verdict) {
    output.error(verdict);
    return ExitCode.failed;
  }
  if (end.reason === 'interrupted') return ExitCode.interrupted;
  if (end.reason !== 'timeout') return undefined;
  const expected = count ?? 1;
  if (received >= expected) return ExitCode.ok;
  output.error(
    new TimeoutError(
      `timed out after ${durationText(end.timeoutMs ?? 0)}: ${received} of ${expected} expected message${expected === 1 ? '' : 's'} on '${where}'`,
    ),
  );
  return ExitCode.timeout;
}

/** A duration as the user would write it (5s, 300ms, 2m), for messages. */
export function durationText(ms: number): string {
  if (ms > 0 && ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms > 0 && ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}
