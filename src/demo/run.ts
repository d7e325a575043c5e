import { Writable } from 'node:stream';
import type { CommandContext, RunIo } from '../command/context.js';
import { UsageError } from '../errors/comms-error.js';
import { ExitCode } from '../errors/exit-codes.js';
import { Output, type OutputOptions } from '../output/output.js';
import type { DemoContext, DemoPart } from './context.js';

/** Demo parts in the order shown; each lazily imported so a part's transport loads only when it runs. */
const PARTS: ReadonlyArray<{ name: string; title: string; load: () => Promise<DemoPart> }> = [
  { name: 'http', title: 'HTTP', load: async () => (await import('./http.js')).httpDemo },
  { name: 'grpc', title: 'gRPC', load: async () => (await import('./grpc.js')).grpcDemo },
  { name: 'ws', title: 'WebSocket', load: async () => (await import('./ws.js')).wsDemo },
  { name: 'sse', title: 'Server-Sent Events', load: async () => (await import('./sse.js')).sseDemo },
  { name: 'nats', title: 'NATS', load: async () => (await import('./nats.js')).natsDemo },
  { name: 'events', title: 'Events', load: async () => (await import('./events.js')).eventsDemo },
  { name: 'amqp', title: 'AMQP (RabbitMQ)', load: async () => (await import('./amqp.js')).amqpDemo },
  { name: 'mqtt', title: 'MQTT', load: async () => (await import('./mqtt.js')).mqttDemo },
  { name: 'check', title: 'Check files', load: async () => (await import('./check.js')).checkDemo },
];

/** Quote an argument for display only when a shell would need it. */
function shellWord(arg: string): string {
  return /^[\w@%+=:,./{}-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", "'\\''")}'`;
}

/** A stream that takes everything and keeps nothing: where a quiet demo's commands write. */
function sink(): NodeJS.WriteStream {
  return new Writable({
    write(_chunk, _enc, cb) {
      cb();
    },
  }) as unknown as NodeJS.WriteStream;
}

/**
 * `comms-cli demo`. With `-q` it prints the verdict only: the commands it runs get `-q` and write to
 * sinks (no bodies, no `error: ...` lines from steps that are meant to fail), and only a step that
 * did not behave as shown is named; the exit code is the same as without `-q`.
 */
export async function runDemo(options: OutputOptions, cmd: CommandContext, only?: string): Promise<number> {
  const { signal } = cmd;
  const out = new Output(options, cmd.stdout, cmd.stderr);
  const streams: RunIo = options.quiet ? { stdout: sink(), stderr: sink() } : {};
  // The demo's own output flags travel to every command it runs.
  const outputFlags = [
    ...(options.quiet ? ['-q'] : []),
    ...(options.verbose ? ['-v'] : []),
    ...(options.color === false ? ['--no-color'] : []),
  ];
  const wanted = only ? only.split(',').map((s) => s.trim().toLowerCase()) : PARTS.map((p) => p.name);
  for (const w of wanted) {
    if (!PARTS.some((p) => p.name === w))
      throw new UsageError(`unknown demo part '${w}' (have: ${PARTS.map((p) => p.name).join(', ')})`);
  }
  let failed = 0;
  let steps = 0;
  let current = '';
  const skipped: string[] = [];
  const ctx: DemoContext = {
    out,
    signal,
    command(argv) {
      out.info(`  ${out.c.dim(`$ comms-cli ${argv.map(shellWord).join(' ')}`)}`);
      const extra = outputFlags.filter((f) => !argv.includes(f));
      return cmd.run([...argv, ...extra], streams);
    },
    skip(reason) {
      skipped.push(`${current}: ${reason}`);
      out.info(`  ${out.c.yellow('skipped')}: ${reason}`);
    },
    async step(title, expectedExit, run) {
      steps += 1;
      out.info(`\n${out.c.bold(`▸ ${title}`)} ${out.c.dim(`(expect exit ${expectedExit})`)}`);
      const exit = await run();
      if (signal.aborted) return;
      if (exit === expectedExit) out.info(`  ${out.c.green('✓')} exit ${exit} as expected`);
      else {
        failed += 1;
        out.err.write(`${out.c.red('✗')} ${title}: exit ${exit}, expected ${expectedExit}\n`);
      }
    },
  };
  for (const part of PARTS) {
    if (!wanted.includes(part.name)) continue;
    current = part.name;
    out.info(`\n${out.c.bold.underline(`${part.title}`)}`);
    const run = await part.load();
    await run(ctx);
    if (signal.aborted) return ExitCode.interrupted;
  }
  const skips = skipped.length > 0 ? out.c.yellow(` (skipped ${skipped.join('; ')})`) : '';
  out.err.write(
    `${options.quiet ? '' : '\n'}${failed === 0 ? out.c.green(`demo: all ${steps} steps behaved as shown`) : out.c.red(`demo: ${failed} of ${steps} steps did not behave as shown`)}${skips}\n`,
  );
  return failed === 0 ? ExitCode.ok : ExitCode.failed;
}
