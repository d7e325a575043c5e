import type { ErrorKind } from './comms-error.js';

/** The contract's exit codes. This file is the only place that maps failures to them. */
export const ExitCode = {
  ok: 0,
  failed: 1,
  usage: 2,
  connect: 3,
  timeout: 4,
  breaker: 5,
  local: 6,
  interrupted: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

const BY_KIND: Record<ErrorKind, ExitCode> = {
  usage: ExitCode.usage,
  connect: ExitCode.connect,
  timeout: ExitCode.timeout,
  response: ExitCode.failed,
  expectation: ExitCode.failed,
  breaker: ExitCode.breaker,
  local: ExitCode.local,
  interrupted: ExitCode.interrupted,
};

export function exitCodeForKind(kind: ErrorKind | undefined): ExitCode {
  return kind === undefined ? ExitCode.ok : BY_KIND[kind];
}

/**
 * When many results end one run (load mode, a subscription, a dispatch), the process exits with the
 * most telling code: interrupted beats usage beats the peer-level failures beats a plain failure.
 */
const PRIORITY: readonly ExitCode[] = [
  ExitCode.interrupted,
  ExitCode.usage,
  ExitCode.local,
  ExitCode.connect,
  ExitCode.timeout,
  ExitCode.breaker,
  ExitCode.failed,
  ExitCode.ok,
];
export function worstExitCode(codes: Iterable<ExitCode>): ExitCode {
  let best: ExitCode = ExitCode.ok;
  for (const c of codes) if (PRIORITY.indexOf(c) < PRIORITY.indexOf(best)) best = c;
  return best;
}
