import type { CommandContext } from '../../../command/context.js';
import type { ResultCheck } from '../../../core/expect.js';
import { type PathStep, singularSteps, walkSteps } from '../../../core/paths.js';
import { CallPipeline, DEFAULT_RESILIENCE } from '../../../core/run-call.js';
import { UsageError } from '../../../errors/comms-error.js';
import type { ExitCode } from '../../../errors/exit-codes.js';
import { ConnectionStats } from '../../../load/connections.js';
import { DEFAULT_CONCURRENCY, DEFAULT_OPEN_LOOP_CAP } from '../../../load/options.js';
import type { LoadPlan } from '../../../load/plan.js';
import type { Output } from '../../../output/output.js';
import type { WsCall } from '../call.js';
import { replyKey, WsLoadTransport, type WsMessageCall, type WsMessageReply } from '../load-transport.js';
import { type Outgoing, payloadOf } from '../outgoing.js';
import type { WsPlan } from '../plan.js';
import { frameText } from '../print.js';

/** Session flags that mean nothing when messages are round trips on a pool of connections. */
const SESSION_ONLY: [keyof WsPlan['values'], string][] = [
  ['lines', '--lines'],
  ['interval', '--interval'],
  ['count', '--count'],
  ['until', '--until'],
  ['listen', '--listen'],
  ['ping', '--ping'],
  ['reconnect', '--reconnect'],
  ['expectClose', '--expect-close'],
];

/** The id of a message at the --reply-match path, or a usage error naming what is wrong. */
function idOf(payload: string | Buffer, steps: PathStep[], path: string): string {
  let doc: unknown;
  try {
    doc = JSON.parse(typeof payload === 'string' ? payload : payload.toString('utf8'));
  } catch {
    throw new UsageError(`--reply-match ${path}: the message is not JSON`, {
      hint: `send JSON carrying an id, e.g. -m '{"id":"{{seq}}","op":"ping"}'`,
    });
  }
  const got = walkSteps(doc, steps);
  if (!got.found || got.value === null || typeof got.value === 'object')
    throw new UsageError(`--reply-match ${path}: the message has no string or number at that path`, {
      hint: `send JSON carrying an id, e.g. -m '{"id":"{{seq}}","op":"ping"}'`,
    });
  return replyKey(got.value);
}

/** Check the load flags against the ws session (exit 2, nothing sent) and derive the message plan. */
function checkLoad(plan: WsPlan, outgoing: Outgoing[]): { replyPath?: PathStep[] } {
  const { values } = plan;
  for (const [key, flag] of SESSION_ONLY) {
    const v = values[key];
    if (v !== undefined && v !== false)
      throw new UsageError(`${flag} is not available in ws load mode (-n, --duration, --rate)`);
  }
  if (values.connections !== undefined)
    throw new UsageError(
      '--connections sizes HTTP and gRPC pools: in ws load mode -c is the number of connections',
    );
  if (outgoing.length === 0)
    throw new UsageError('ws load mode needs a message to send: -m <text>', {
      hint: "e.g. comms-cli ws ws://127.0.0.1:8080/echo -m 'n={{seq}}' -n 1000 -c 10",
    });
  if (values.replyMatch === undefined) return {};
  const path = values.replyMatch;
  // The same singular paths as --expect-json ($.id, $.meta["req id"]); a bare `id` means $.id.
  const steps = singularSteps(path.startsWith('$') ? path : `$.${path}`);
  if (steps === undefined)
    throw new UsageError(`invalid --reply-match '${path}': not a JSON path`, { hint: 'write e.g. $.id' });
  if (steps.length === 0) throw new UsageError(`invalid --reply-match '${path}': not a JSON path`);
  if (values.binary) throw new UsageError('--reply-match pairs JSON text messages: not with --binary');
  for (const m of outgoing)
    if (idOf(payloadOf(m, 1), steps, path) === idOf(payloadOf(m, 2), steps, path))
      throw new UsageError(`--reply-match ${path}: every message needs its own id`, {
        hint: `put {{seq}} or {{uuid}} in the id, e.g. -m '{"id":"{{seq}}"}'`,
      });
  return { replyPath: steps };
}

/**
 * `comms-cli ws URL -m MSG -n/--duration/--rate`: -c connections, opened before the clock starts,
 * each carrying messages and awaiting replies, through the shared load runner (summary, gates,
 * --json, Ctrl-C). Message latency is the round trip; handshakes and closes are reported apart.
 */
export async function runWsLoad(
  plan: WsPlan,
  call: WsCall,
  outgoing: Outgoing[],
  ctx: CommandContext,
  output: Output,
): Promise<ExitCode> {
  const load = plan.load as LoadPlan;
  const { values } = plan;
  const { replyPath } = checkLoad(plan, outgoing);
  if (load.distributed) {
    const { distributeLoad } = await import('../../../load/distribute.js');
    return distributeLoad(load, output, ctx.signal);
  }
  const size = values.concurrency ?? DEFAULT_CONCURRENCY;
  // Echo-style a connection carries one message at a time, so the connections are the cap; paired
  // by id they carry many, and an open loop may have many in flight (a stall shows as latency).
  const inFlight = replyPath && load.rate !== undefined ? Math.max(size, DEFAULT_OPEN_LOOP_CAP) : size;
  const loadPlan: LoadPlan = { ...load, concurrency: inFlight };
  const stats = new ConnectionStats(size);
  const transport = new WsLoadTransport(call, {
    size,
    ...(replyPath ? { replyPath } : {}),
    connectTimeoutMs: values.connectTimeout,
    stats,
  });
  // --timeout is the reply timeout of one message here (the session's idle timeout otherwise).
  const pipeline = new CallPipeline(
    { ...plan.resilience, timeoutMs: values.timeout ?? DEFAULT_RESILIENCE.timeoutMs },
    ctx.signal,
  );
  const { target, breakerKey } = call;
  // Text is sent as its UTF-8 bytes (the same frame): handed a string, `ws` encodes it per send and
  // writes the frame header and the masked payload as two corked writes (a writev per message); handed
  // bytes, it masks into one buffer and writes once. Texts without placeholders are encoded once.
  const fixed = outgoing.map((m) =>
    m.text !== undefined && !m.text.includes('{{') ? Buffer.from(m.text, 'utf8') : undefined,
  );
  const makeCall = (seq: number): WsMessageCall => {
    const i = (seq - 1) % outgoing.length;
    const m = outgoing[i] as Outgoing;
    const text = fixed[i] ? undefined : payloadOf(m, seq);
    const payload = fixed[i] ?? (typeof text === 'string' ? Buffer.from(text, 'utf8') : (text as Buffer));
    // Optional fields assigned, not spread: this runs once per message.
    const message: { -readonly [K in keyof WsMessageCall]: WsMessageCall[K] } = {
      target,
      operation: 'message',
      seq,
      payload,
      binary: m.binary,
    };
    if (breakerKey) message.breakerKey = breakerKey;
    if (replyPath) message.id = idOf(text ?? payload, replyPath, values.replyMatch ?? '');
    return message;
  };
  const checks: ResultCheck<WsMessageReply>[] = plan.expect.messages.map(
    (m) => (_result, reply) =>
      reply && !m.test(frameText(reply))
        ? `the reply does not match --expect-message '${m.spec}'`
        : undefined,
  );
  try {
    await transport.connectAll(ctx.signal);
    const { runLoad } = await import('../../../load/runner.js');
    return await runLoad({
      transport,
      makeCall,
      pipeline,
      plan: loadPlan,
      output,
      signal: ctx.signal,
      checks,
      replyBytes: (r) => r.data.length,
      connections: () => stats.summary(),
    });
  } finally {
    await pipeline.close();
    await transport.close();
  }
}
