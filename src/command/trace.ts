import { randomBytes } from 'node:crypto';
import { UsageError } from '../errors/comms-error.js';
import { type OptionValues, text } from './option.js';

/** W3C Trace Context for single commands (check files pass one trace id per check this way). */
export const TRACE_OPTIONS = {
  traceparent: text(
    '--traceparent <auto|value>',
    "send a W3C 'traceparent' header/metadata: auto (a new trace) or 00-TRACEID-SPANID-FLAGS",
  ),
};
export type TraceValues = OptionValues<typeof TRACE_OPTIONS>;

const TRACEPARENT = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;

/** A new random trace id (32 hex digits, never all zero). */
export function newTraceId(): string {
  return randomBytes(16).toString('hex');
}

/** A traceparent with `traceId` and a new span id. */
export function newTraceparent(traceId: string = newTraceId()): string {
  return `00-${traceId}-${randomBytes(8).toString('hex')}-01`;
}

/** The traceparent a command sends: `auto` starts a trace; a given value is checked. */
export function traceparentFrom(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (value === 'auto') return newTraceparent();
  const v = value.trim().toLowerCase();
  if (!TRACEPARENT.test(v) || /^00-0{32}-/.test(v) || /-0{16}-..$/.test(v))
    throw new UsageError(`invalid --traceparent '${value}'`, {
      hint: 'use auto or 00-<32 hex trace id>-<16 hex span id>-01',
    });
  return v;
}

/** `-H` style headers plus `traceparent: ...` when --traceparent is given (transports read this list). */
export function withTraceparent(headers: readonly string[], traceparent: string | undefined): string[] {
  const value = traceparentFrom(traceparent);
  return value === undefined ? [...headers] : [...headers, `traceparent: ${value}`];
}
