import { spawn } from 'node:child_process';
import type {
  AttemptContext,
  CallBase,
  Outcome,
  ResultFields,
  Transport,
  Verdict,
} from '../../core/transport.js';
import { ConnectError, ResponseError } from '../../errors/comms-error.js';

/** One run of a handler command: the event on stdin, its fields in the environment. */
export interface ExecCall extends CallBase {
  readonly command: string;
  readonly input: Buffer;
  readonly env: Readonly<Record<string, string>>;
}

export interface ExecReply {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

const KEEP = 16 * 1024;

/**
 * `exec:CMD` as a Transport: one attempt runs `sh -c CMD` once. Exit 0 = handled. Any other exit is a
 * handler failure and retryable (the handler gets the event id to deduplicate, as with every
 * at-least-once delivery) and counts towards the breaker. The attempt's signal (timeout, Ctrl-C)
 * kills the command.
 */
export class ExecTransport implements Transport<ExecCall, ExecReply> {
  readonly kind = 'events' as const;

  attempt(call: ExecCall, ctx: AttemptContext): Promise<ExecReply> {
    return new Promise((resolve, reject) => {
      const child = spawn('/bin/sh', ['-c', call.command], {
        stdio: ['pipe', 'pipe', 'pipe'],
        env: { ...process.env, ...call.env, COMMS_EVENT_ATTEMPT: String(ctx.attempt) },
        signal: ctx.signal,
        killSignal: 'SIGKILL',
      });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => {
        if (stdout.length < KEEP) stdout += d;
      });
      child.stderr.setEncoding('utf8').on('data', (d: string) => {
        if (stderr.length < KEEP) stderr += d;
      });
      child.stdin.on('error', () => {}); // a handler that does not read stdin is fine
      child.stdin.end(call.input);
      child.on('error', (err: NodeJS.ErrnoException) => {
        if (err.name === 'AbortError') reject(err);
        else reject(new ConnectError(`cannot run handler '${call.command}': ${err.message}`, { cause: err }));
      });
      child.on('close', (code, signal) => {
        if (ctx.signal.aborted) return; // the 'error' (AbortError) path reports it
        resolve({ code, signal, stdout: stdout.slice(0, KEEP), stderr: stderr.slice(0, KEEP) });
      });
    });
  }

  classify(outcome: Outcome<ExecReply>): Verdict {
    if (outcome.error) {
      return {
        ok: false,
        retryable: outcome.error.kind === 'timeout',
        peerFault: true,
        error: outcome.error,
      };
    }
    const { code, signal, stderr } = outcome.reply;
    if (code === 0) return { ok: true, retryable: false, peerFault: false, status: 0 };
    const why = signal ? `killed by ${signal}` : `exited with ${code}`;
    const detail = stderr.trim().split('\n').at(-1);
    return {
      ok: false,
      retryable: true,
      peerFault: true,
      status: code ?? signal ?? 'killed',
      error: new ResponseError(`handler ${why}${detail ? `: ${detail}` : ''}`, { code: 'COMMS_ERR_HANDLER' }),
    };
  }

  describe(reply: ExecReply): ResultFields {
    return {
      exitCode: reply.code,
      ...(reply.stdout ? { stdout: reply.stdout } : {}),
      ...(reply.stderr ? { stderr: reply.stderr } : {}),
    };
  }

  async close(): Promise<void> {}
}
