import { elapsedMs } from '../core/expect.js';
import type { AttemptRecord, Result } from '../core/result.js';
import type { Timing } from '../core/timing.js';
import type { Output } from './output.js';

/** `dns 0.4ms · connect 0.9ms · tls 3.1ms · first byte 12.0ms · total 12.8ms` (phases that happened). */
export function formatTiming(out: Output, timing: Timing | undefined): string {
  if (!timing) return '';
  const parts: string[] = [];
  const label: Array<[keyof Timing, string]> = [
    ['dns', 'dns'],
    ['connect', 'connect'],
    ['tls', 'tls'],
    ['firstByte', 'first byte'],
    ['upgrade', 'upgrade'],
    ['firstEvent', 'first event'],
    ['total', 'total'],
  ];
  for (const [k, name] of label) if (timing[k] !== undefined) parts.push(`${name} ${out.ms(timing[k])}`);
  return parts.join(out.c.dim(' · '));
}

export function formatAttempt(out: Output, a: AttemptRecord, total: number): string {
  const mark = a.ok ? out.c.green('✓') : out.c.red('✗');
  // With a status (HTTP 503, UNAVAILABLE) that says it; otherwise the error's own message.
  const what =
    a.status !== undefined ? String(a.status) : a.error ? `${a.error.kind}: ${a.error.message}` : 'ok';
  const wait = a.waitMs !== undefined ? out.c.dim(` → retry in ${out.ms(a.waitMs)}`) : '';
  return `${out.c.dim(`attempt ${a.n}/${total}`)} ${mark} ${what} ${out.c.dim(out.ms(a.ms))}${wait}`;
}

/**
 * The person's view of one finished call on stderr (attempts were already printed live by the
 * pipeline's onAttempt): one summary line `<status> · <total> · <n> attempts`, then the timing
 * breakdown with -v. `statusText` is the transport's rendering (e.g. `HTTP/1.1 200 OK`).
 */
export function reportResult(out: Output, result: Result, statusText: string): void {
  const many = result.attempts.length > 1;
  const total = result.timing?.total;
  const attempts = many
    ? out.c.dim(` · ${result.attempts.length} attempts in ${out.ms(elapsedMs(result))}`)
    : '';
  const colour = result.ok ? out.c.green : out.c.red;
  out.info(`${colour(statusText)}${total !== undefined ? out.c.dim(` · ${out.ms(total)}`) : ''}${attempts}`);
  if (out.options.verbose && result.timing)
    out.verbose(out.c.dim(`timing: ${formatTiming(out, result.timing)}`));
}
