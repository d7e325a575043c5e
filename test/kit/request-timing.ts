import { expect } from 'vitest';

/**
 * A request's timing as every transport reports it: 0 <= connect <= firstByte <= total, on one clock
 * from the attempt's start; with a peer that answers `delayMs` after the request, firstByte is at
 * least that (less 2 ms of timer rounding). The bound is from the start only: a difference of two
 * client readings (firstByte - connect) shrinks when the client notices its connection late on a
 * loaded machine.
 */
export function expectRequestTiming(stdout: string, delayMs?: number): Record<string, number> {
  const first = stdout.split('\n').find((l) => l.trim() !== '') ?? '{}';
  const timing = (JSON.parse(first) as { timing: Record<string, number> }).timing;
  expect(timing.connect).toBeGreaterThanOrEqual(0);
  expect(timing.firstByte).toBeGreaterThanOrEqual(timing.connect as number);
  expect(timing.total).toBeGreaterThanOrEqual(timing.firstByte as number);
  if (delayMs !== undefined) expect(timing.firstByte).toBeGreaterThanOrEqual(delayMs - 2);
  return timing;
}
