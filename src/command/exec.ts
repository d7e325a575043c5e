import { spawn } from 'node:child_process';
import { formatMs } from '../core/duration.js';

/** How a responder's `--exec` command ended. */
export type ExecOutcome =
  | { readonly ok: true; readonly data: Buffer }
  /** Exited non-zero, failed to start, or was killed at the time limit (`timedOut`). */
  | { readonly ok: false; readonly data: Buffer; readonly timedOut: boolean; readonly why: string };

export interface ExecLimits {
  timeoutMs: number;
  /** Ctrl-C: the command is killed and the request is not answered (undefined). */
  signal: AbortSignal;
  env: Record<string, string>;
}

/**
 * Run a responder's `--exec CMD` once: the request payload on its stdin, its stdout is the reply. It
 * runs in its own process group so that killing it also kills what it started (`sh -c 'sleep 9; echo'`):
 * SIGTERM at `timeoutMs`, SIGKILL a second later. Resolves undefined when `signal` aborted it.
 */
export function runExec(
  command: string,
  input: Uint8Array,
  limits: ExecLimits,
): Promise<ExecOutcome | undefined> {
  return new Promise((resolve) => {
    if (limits.signal.aborted) {
      resolve(undefined);
      return;
    }
    const child = spawn('/bin/sh', ['-c', command], {
      stdio: ['pipe', 'pipe', 'inherit'],
      detached: true,
      env: { ...process.env, ...limits.env },
    });
    const chunks: Buffer[] = [];
    let killedFor: 'timeout' | 'interrupt' | undefined;
    let hardKill: NodeJS.Timeout | undefined;
    const kill = (why: 'timeout' | 'interrupt') => {
      if (killedFor || child.exitCode !== null || child.signalCode !== null) return;
      killedFor = why;
      const group = (sig: NodeJS.Signals) => {
        try {
          if (child.pid !== undefined) process.kill(-child.pid, sig);
        } catch {
          // already gone
        }
      };
      group('SIGTERM');
      hardKill = setTimeout(() => group('SIGKILL'), 1_000);
      hardKill.unref();
    };
    const timer = setTimeout(() => kill('timeout'), limits.timeoutMs);
    const onAbort = () => kill('interrupt');
    limits.signal.addEventListener('abort', onAbort, { once: true });
    child.stdout.on('data', (c: Buffer) => chunks.push(c));
    child.stdin.on('error', () => undefined);
    child.stdin.end(input);
    let settled = false;
    const finish = (code: number | null, why?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (hardKill && child.exitCode !== null) clearTimeout(hardKill);
      limits.signal.removeEventListener('abort', onAbort);
      if (killedFor === 'interrupt') {
        resolve(undefined);
        return;
      }
      const data = Buffer.concat(chunks);
      if (code === 0 && !killedFor && why === undefined) {
        resolve({ ok: true, data });
        return;
      }
      const timedOut = killedFor === 'timeout';
      resolve({
        ok: false,
        data,
        timedOut,
        why:
          why ??
          (timedOut
            ? `--exec command timed out after ${formatMs(limits.timeoutMs)} (killed)`
            : `--exec command exited with ${code}`),
      });
    };
    child.on('error', (err) => finish(null, `--exec failed: ${err.message}`));
    child.on('close', (code) => finish(code));
  });
}
