import { randomUUID } from 'node:crypto';
import { callSettingsFrom } from '../../command/call-options.js';
import type { CommandContext } from '../../command/context.js';
import { runCallCommand } from '../../command/run-call-command.js';
import { parseJsonArg, readPayload, stdinLines } from '../../core/input.js';
import type { Result } from '../../core/result.js';
import { expandTemplate, hasTemplate } from '../../core/template.js';
import { UsageError } from '../../errors/comms-error.js';
import { ExitCode } from '../../errors/exit-codes.js';
import { isLoadMode } from '../../load/options.js';
import { type AppendCall, AppendTransport } from '../append-transport.js';
import {
  type ExpectedVersion,
  type NewEvent,
  parseExpectedVersion,
  validateAggregate,
  validateType,
} from '../event.js';
import type { AppendValues, NatsStoreValues } from '../flags.js';
import { IdConflictError } from '../id-conflict.js';
import { openStore } from '../open-store.js';
import { VersionConflictError } from '../version-conflict.js';
import { outputOf } from './common.js';

/** What `events append` receives: its typed option values and the store's NATS connection values. */
export type AppendInput = AppendValues & NatsStoreValues;

function metadataFrom(values: AppendInput): Record<string, string> {
  const meta: Record<string, string> = {};
  for (const kv of values.meta) {
    const i = kv.indexOf('=');
    if (i <= 0) throw new UsageError(`invalid --meta '${kv}': expected key=value`);
    meta[kv.slice(0, i)] = kv.slice(i + 1);
  }
  if (values.correlationId !== undefined) meta.correlationId = values.correlationId;
  if (values.causationId !== undefined) meta.causationId = values.causationId;
  return meta;
}

/**
 * NDJSON lines of stdin as they arrive (so `tail -f log | comms-cli events append ... --lines` appends
 * live); blank lines are skipped, and an invalid line stops the run with exit 2 (earlier lines stay).
 */
async function* ndjsonLines(stdin: NodeJS.ReadableStream, signal: AbortSignal): AsyncIterable<unknown> {
  let n = 0;
  for await (const line of stdinLines(stdin, signal)) {
    n += 1;
    if (line.trim() !== '') yield parseJsonArg(line, `stdin line ${n}`);
  }
}

/**
 * `events append`: values and data are parsed and validated before the store is opened, so bad
 * input (exit 2) never writes (with `--lines`, each line is checked as it arrives). With `--lines`, line i expects version N+i-1 when `--expected-version N` is
 * given, so a batch is guarded as a whole; the first conflict stops it.
 */
export async function runAppend(
  aggregateArg: string,
  typeArg: string,
  values: AppendInput,
  ctx: CommandContext,
): Promise<number> {
  const out = outputOf(values, ctx);
  const aggregate = validateAggregate(aggregateArg);
  const type = validateType(typeArg);
  const expected = parseExpectedVersion(values.expectedVersion);
  const metadata = metadataFrom(values);
  if (isLoadMode(values)) return runAppendLoad(aggregate, type, values, expected, metadata, ctx);

  let payloads: Iterable<unknown> | AsyncIterable<unknown>;
  if (values.lines) {
    if (values.data !== '{}') throw new UsageError('--lines reads the data from stdin: drop -d');
    if (values.id !== undefined && !hasTemplate(values.id)) {
      throw new UsageError(`--id '${values.id}' would be the same for every line`, {
        hint: "put {{seq}} in it, e.g. --id 'import-{{seq}}'",
      });
    }
    payloads = ndjsonLines(ctx.stdin, ctx.signal);
  } else {
    const text = (await readPayload(values.data, '-d', ctx.stdin)).toString('utf8');
    payloads = [parseJsonArg(text, '-d')];
  }
  if (values.id !== undefined && values.id.trim() === '') throw new UsageError('--id must not be empty');

  const store = await openStore(values, ctx.signal);
  try {
    let i = -1;
    for await (const data of payloads) {
      i += 1;
      if (ctx.signal.aborted) return ExitCode.interrupted;
      const event: NewEvent = {
        id: values.id !== undefined ? expandTemplate(values.id, i + 1) : randomUUID(),
        aggregate,
        type,
        data,
        metadata,
      };
      const base: Pick<Result, 'transport' | 'target' | 'operation' | 'attempts'> = {
        transport: 'events',
        target: store.location,
        operation: 'append',
        attempts: [],
      };
      try {
        const { event: stored, duplicate } = await store.append(
          event,
          expected === undefined ? undefined : expected + i,
        );
        if (out.options.json) {
          await out.json({
            ...base,
            ok: true,
            exit: 0,
            status: duplicate ? 'duplicate' : 'appended',
            duplicate,
            event: stored,
          });
        } else {
          const what = duplicate ? out.c.yellow('already appended (same --id)') : out.c.green('appended');
          out.info(
            `${what} ${stored.aggregate}@v${stored.version} ${stored.type} ${out.c.dim(`position ${stored.position} · id ${stored.id}`)}`,
          );
        }
      } catch (err) {
        if (err instanceof IdConflictError) {
          if (out.options.json) {
            await out.json({
              ...base,
              ok: false,
              exit: ExitCode.failed,
              status: 'id-conflict',
              error: err.toJSON(),
              aggregate,
              existing: err.existing,
            });
          }
          out.error(err);
          return ExitCode.failed;
        }
        if (!(err instanceof VersionConflictError)) throw err;
        if (out.options.json) {
          await out.json({
            ...base,
            ok: false,
            exit: ExitCode.failed,
            status: 'conflict',
            error: err.toJSON(),
            aggregate,
            expectedVersion: err.expectedVersion,
            actualVersion: err.actualVersion,
          });
        }
        out.error(err);
        return ExitCode.failed;
      }
    }
    return ExitCode.ok;
  } finally {
    await store.close();
  }
}

/**
 * Load mode: many appends through the shared pipeline (runCallCommand). Each call gets its own event:
 * `{{seq}}`, `{{uuid}}`, `{{time}}` in -d, --id and the aggregate are expanded per call, and without
 * --id every call gets a fresh id. A fixed --expected-version cannot hold for many appends at once.
 */
async function runAppendLoad(
  aggregate: string,
  type: string,
  values: AppendInput,
  expected: ExpectedVersion,
  metadata: Record<string, string>,
  ctx: CommandContext,
): Promise<number> {
  if (expected !== undefined) {
    throw new UsageError('--expected-version cannot be used in load mode', {
      hint: 'load mode appends with --expected-version any; put {{seq}} in the aggregate to append to many',
    });
  }
  if (values.lines) throw new UsageError('--lines cannot be used in load mode (-n, --duration, --rate)');
  if (values.id !== undefined && !hasTemplate(values.id)) {
    throw new UsageError(`--id '${values.id}' would be the same for every call`, {
      hint: "put {{seq}} in it, e.g. --id 'load-{{seq}}'",
    });
  }
  const settings = callSettingsFrom(values);
  const dataText = (await readPayload(values.data, '-d', ctx.stdin)).toString('utf8');
  parseJsonArg(expandTemplate(dataText, 1), '-d');
  const out = outputOf(values, ctx);
  const store = await openStore(values, ctx.signal);
  try {
    const makeCall = (seq: number): AppendCall => {
      const agg = validateAggregate(expandTemplate(aggregate, seq));
      return {
        target: store.location,
        operation: 'append',
        event: {
          id: values.id !== undefined ? expandTemplate(values.id, seq) : randomUUID(),
          aggregate: agg,
          type,
          data: parseJsonArg(expandTemplate(dataText, seq), '-d'),
          metadata,
        },
        expected: undefined,
      };
    };
    return await runCallCommand({
      transport: new AppendTransport(store),
      call: makeCall(1),
      makeCall,
      resilience: settings.resilience,
      output: out,
      load: settings.load,
      signal: ctx.signal,
      renderHuman: async () => {},
    });
  } finally {
    await store.close();
  }
}
