import type { CommsError, ErrorKind } from '../errors/comms-error.js';
import { ExitCode, exitCodeForKind } from '../errors/exit-codes.js';
import type { Timing } from './timing.js';
import type { TransportKind } from './transport.js';

/** One attempt as --json and -v show it. */
export interface AttemptRecord {
  n: number;
  ok: boolean;
  status?: number | string;
  error?: { kind: ErrorKind; message: string };
  /** Duration of the attempt in ms. */
  ms: number;
  /** Wait before the next attempt in ms (absent on the last). */
  waitMs?: number;
  timing?: Timing;
}

/** The transport-neutral result of one call: the --json contract. Output and exit codes read only this. */
export interface Result {
  transport: TransportKind;
  target: string;
  operation: string;
  ok: boolean;
  exit: ExitCode;
  status?: number | string;
  error?: { kind: ErrorKind; message: string; code?: string; hint?: string };
  attempts: AttemptRecord[];
  timing?: Timing;
  /** Transport-specific fields (headers, body, data, trailers, stream/seq...). */
  [field: string]: unknown;
}

/** Marks a result failed with `err`, keeping everything else (used by expectations and summaries). */
export function failResult(result: Result, err: CommsError): Result {
  result.ok = false;
  result.error = err.toJSON();
  result.exit = exitCodeForKind(err.kind);
  return result;
}

export function exitCodeOf(result: Pick<Result, 'ok' | 'error'>): ExitCode {
  if (result.ok) return ExitCode.ok;
  return exitCodeForKind(result.error?.kind ?? 'response');
}
