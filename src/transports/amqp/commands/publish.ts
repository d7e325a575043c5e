import { callSettingsFrom } from '../../../command/call-options.js';
import type { CommandContext } from '../../../command/context.js';
import { runCallCommand } from '../../../command/run-call-command.js';
import { tlsFrom } from '../../../command/tls-options.js';
import { stdinLines } from '../../../core/input.js';
import { mapAsync, range } from '../../../core/iterate.js';
import { UsageError } from '../../../errors/comms-error.js';
import type { ExitCode } from '../../../errors/exit-codes.js';
import { groupDigits } from '../../../load/report.js';
import { reportResult } from '../../../output/human.js';
import { Output } from '../../../output/output.js';
import { AmqpTransport } from '../adapter.js';
import type { AmqpCall, AmqpReply } from '../call.js';
import { amqpEndpoint } from '../connection.js';
import type { PublishValues } from '../flags.js';
import { checkDeclare, destinationOf, messageMaker, setupFor } from '../outgoing.js';

/**
 * `comms-cli amqp publish <exchange|queue> [payload]`: one batch (one message, --count N, or stdin
 * --lines) as one call, done when the broker confirmed every message; or load mode, one confirmed
 * message per call (the latency is the confirm's round trip).
 */
export async function runPublish(
  target: string,
  payloadArg: string | undefined,
  values: PublishValues,
  ctx: CommandContext,
): Promise<ExitCode> {
  const settings = callSettingsFrom(values);
  const output = new Output(settings.output, ctx.stdout, ctx.stderr);
  const dest = destinationOf(target, values.routingKey);
  checkDeclare(values, dest);
  if (values.mandatory && !values.confirm)
    throw new UsageError('--mandatory needs publisher confirms: drop --no-confirm', {
      hint: 'without confirms comms-cli cannot tell when a return has had time to arrive',
    });
  const load = settings.load;
  if (load && (values.count > 1 || values.lines))
    throw new UsageError('--count and --lines cannot be combined with load mode (-n/--duration/--rate)');
  // A --lines stream lasts as long as stdin does: no per-attempt timeout unless one is asked for.
  const resilience =
    values.lines && values.timeout === 30_000
      ? { ...settings.resilience, timeoutMs: Number.POSITIVE_INFINITY }
      : settings.resilience;
  const endpoint = amqpEndpoint(values.url, tlsFrom(values), {
    showSecrets: values.showSecrets,
    connectTimeoutMs: settings.resilience.timeoutMs,
  });
  const make = await messageMaker(dest, values, payloadArg, ctx.stdin, {
    lines: values.lines,
    mandatory: values.mandatory,
  });
  const setup = setupFor(dest, values);
  const transport = new AmqpTransport({ endpoint, confirm: values.confirm, ...(setup ? { setup } : {}) });
  const where = dest.kind === 'queue' ? `queue ${dest.name}` : `exchange ${dest.name || '(default)'}`;
  const displayTarget = dest.kind === 'queue' ? dest.name : `${dest.name}/${values.routingKey ?? ''}`;
  const lines = values.lines ? stdinLines(ctx.stdin, ctx.signal) : undefined;
  const count = values.count;
  const call: AmqpCall = {
    target: displayTarget,
    operation: 'publish',
    op: 'publish',
    messages: lines
      ? () => mapAsync(lines, (line, seq) => make(seq, Buffer.from(line)))
      : () => range(count, (seq) => make(seq)),
  };
  const confirmed = values.confirm ? 'confirmed' : 'sent';
  return runCallCommand<AmqpCall, AmqpReply>({
    transport,
    call,
    makeCall: (seq) => ({
      target: displayTarget,
      operation: 'publish',
      op: 'publish',
      messages: () => [make(seq)],
    }),
    resilience,
    output,
    load,
    signal: ctx.signal,
    replyBytes: (r) => (r.op === 'publish' ? r.bytes : 0),
    async renderHuman({ result, reply }) {
      const n = reply?.op === 'publish' ? reply.count : 0;
      const total = result.timing?.total;
      const rate = total && n > 1 ? output.c.dim(` · ${groupDigits((n / total) * 1000)} msgs/s`) : '';
      const plural = `message${n === 1 ? '' : 's'}`;
      if (result.ok)
        reportResult(output, result, `published ${n} ${plural} to ${where} (${confirmed})${rate}`);
      else if (reply?.op === 'publish')
        reportResult(
          output,
          result,
          `published ${n} ${plural} to ${where}: ${String(result.status ?? 'failed')}`,
        );
      else reportResult(output, result, `publish to ${where} failed`);
    },
  });
}
