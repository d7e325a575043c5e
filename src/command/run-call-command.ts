import { outsideBreakerScope } from '../core/breaker-scope.js';
import { applyChecks, type ResultCheck } from '../core/expect.js';
import { type CallOutcome, CallPipeline, type ResilienceOptions } from '../core/run-call.js';
import type { CallBase, Transport } from '../core/transport.js';
import type { ExitCode } from '../errors/exit-codes.js';
import type { LoadPlan } from '../load/plan.js';
import { formatAttempt } from '../output/human.js';
import type { Output } from '../output/output.js';
import { redactUrl } from '../output/redact.js';
import { startSpinner } from '../output/spinner.js';

export interface CallCommandSpec<C extends CallBase, R> {
  transport: Transport<C, R>;
  call: C;
  /** For load mode: the n-th call (templates expanded). Defaults to the same call every time. */
  makeCall?: (seq: number) => C;
  resilience: ResilienceOptions;
  output: Output;
  /** Present: load mode with this plan. Absent: one call. */
  load: LoadPlan | undefined;
  signal: AbortSignal;
  checks?: readonly ResultCheck<R>[];
  /** Side effects once the final outcome is known (e.g. commit or discard a -o temp file). */
  finalize?(outcome: CallOutcome<R>): Promise<void>;
  /** Human mode: body/messages to stdout, status line to stderr. */
  renderHuman(outcome: CallOutcome<R>): Promise<void>;
  /** After the result is printed (one call only): e.g. curl's -w/--write-out line. */
  afterOutput?(outcome: CallOutcome<R>): Promise<void>;
  replyBytes?(reply: R): number;
}

/**
 * The shared shape of every call command: one call (or load mode) through one CallPipeline, then
 * expectations, then output. Returns the exit code; only main.ts sets process.exitCode.
 */
export async function runCallCommand<C extends CallBase, R>(spec: CallCommandSpec<C, R>): Promise<ExitCode> {
  const { output } = spec;
  const pipeline = new CallPipeline(spec.resilience, spec.signal, {
    // Attempts print live, so a person watching retries sees each one as it happens.
    onAttempt(record) {
      if (spec.load) return;
      const line = formatAttempt(output, record, spec.resilience.retries + 1);
      if (!record.ok && spec.resilience.retries > 0) output.info(line);
      else output.verbose(line);
    },
    onBreakerChange(key, state) {
      output.verbose(output.c.yellow(`breaker ${key}: ${state}`));
    },
  });
  try {
    if (spec.load?.distributed) {
      // --workers: this process coordinates; the workers run the calls (see src/worker/).
      const { distributeLoad } = await import('../load/distribute.js');
      return await distributeLoad(spec.load, output, spec.signal);
    }
    await warmUpCall(spec.transport, spec.call, spec.resilience, spec.signal);
    if (spec.load) {
      const { runLoad } = await import('../load/runner.js');
      return await runLoad({
        transport: spec.transport,
        makeCall: spec.makeCall ?? (() => spec.call),
        pipeline,
        plan: spec.load,
        output,
        signal: spec.signal,
        checks: spec.checks ?? [],
        ...(spec.replyBytes ? { replyBytes: spec.replyBytes } : {}),
      });
    }
    const spinner = startSpinner(output, `${spec.call.operation} ${redactUrl(spec.call.target)}`);
    let outcome: CallOutcome<R>;
    try {
      outcome = await pipeline.run(spec.transport, spec.call);
    } finally {
      spinner.stop();
    }
    applyChecks(outcome.result, spec.checks ?? [], outcome.reply);
    await spec.finalize?.(outcome);
    if (output.options.json) await output.json(outcome.result);
    else await spec.renderHuman(outcome);
    await spec.afterOutput?.(outcome);
    if (outcome.result.error) output.error(outcome.result.error);
    return outcome.result.exit;
  } finally {
    await pipeline.close();
    await spec.transport.close();
  }
}

/**
 * Before the clock starts: the transport's first-use costs (its warmUp, when it has one) and the
 * pipeline's, so the first measured attempt times the call and not the process warming up. Every
 * command that reports a call's timing does this (grpc health too), so the same call measures the
 * same whichever command made it.
 */
export async function warmUpCall<C extends CallBase, R>(
  transport: Transport<C, R>,
  call: C,
  resilience: ResilienceOptions,
  signal: AbortSignal,
): Promise<void> {
  if (!transport.warmUp) return;
  await transport.warmUp(call);
  await warmPipeline(resilience, signal);
}

let pipelineWarm = false;

/**
 * One pass through a throwaway CallPipeline (same policies, no breaker file, an instant transport)
 * before the first measured call: the JIT of the retry / timeout / breaker path would otherwise run
 * inside the first attempt's timing (measured: 1-3 ms before the socket even opened). Once per process.
 */
async function warmPipeline(resilience: ResilienceOptions, signal: AbortSignal): Promise<void> {
  if (pipelineWarm) return;
  pipelineWarm = true;
  const { breakerStateFile: _file, ...inMemory } = resilience;
  // Outside a check's BreakerScope: the warm-up's breaker is its own and is never saved.
  const pipeline = outsideBreakerScope(() => new CallPipeline(inMemory, signal));
  const instant: Transport<CallBase, true> = {
    kind: 'warm-up',
    attempt: async () => true,
    classify: () => ({ ok: true, retryable: false, peerFault: false }),
    describe: () => ({}),
    close: async () => {},
  };
  try {
    await pipeline.run(instant, { target: 'warm-up', operation: 'warm-up' });
  } catch {
    // best effort
  } finally {
    await pipeline.close();
  }
}
