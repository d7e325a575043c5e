/** The NDJSON event objects of `check --json` and `--report json:` (reporters read these). */

export type Phase = 'main' | 'compensate' | 'finally';

export interface Failure {
  /** The step's name. */
  readonly step: string;
  /** What failed, one line. */
  readonly message: string;
  /** Every failed expectation (path, expected, actual), the last attempts. */
  readonly details: readonly string[];
  /** The step's command line (secrets redacted). */
  readonly command?: string;
  /** FILE:LINE:COL of the step. */
  readonly at: string;
}

export interface StepEvent {
  readonly type: 'step';
  readonly file: string;
  readonly check: string;
  readonly step: string;
  readonly phase: Phase;
  /** Duration, retries and waits included. */
  readonly ms: number;
  /** When the step started, in ms since the check started (for timelines). */
  readonly start: number;
  readonly ok: boolean;
  readonly exit: number;
  readonly skipped?: boolean;
  readonly background?: boolean;
  readonly command?: string;
  readonly result: unknown;
  readonly failure?: Failure;
}

export interface CheckEvent {
  readonly type: 'check';
  readonly file: string;
  readonly name: string;
  readonly ok: boolean;
  readonly exit: number;
  readonly ms: number;
  /** How many steps ran (compensations and finally steps included). */
  readonly steps: number;
  readonly failure?: Failure;
  readonly traceId: string;
  /** Present when the check did not run: the reason. */
  readonly skipped?: string;
  readonly tags?: readonly string[];
}

export interface RunEvent {
  readonly type: 'run';
  readonly checks: number;
  readonly passed: number;
  readonly failed: number;
  readonly skipped: number;
  readonly ms: number;
  readonly exit: number;
}

export type CheckRunEvent = StepEvent | CheckEvent | RunEvent;
