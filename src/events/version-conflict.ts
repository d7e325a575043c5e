import { ResponseError } from '../errors/comms-error.js';

/**
 * An append whose `--expected-version` did not hold: the call completed and failed (exit 1), with
 * both versions in the message so a script's log says what happened.
 */
export class VersionConflictError extends ResponseError {
  readonly aggregate: string;
  readonly expectedVersion: number;
  readonly actualVersion: number;

  constructor(aggregate: string, expected: number, actual: number) {
    const want = expected === 0 ? '0 (none: a new aggregate)' : String(expected);
    super(`version conflict on '${aggregate}': expected version ${want}, aggregate is at ${actual}`, {
      code: 'COMMS_ERR_VERSION_CONFLICT',
      hint: 'read the aggregate again and retry with its current version, or use --expected-version any',
    });
    this.name = 'VersionConflictError';
    this.aggregate = aggregate;
    this.expectedVersion = expected;
    this.actualVersion = actual;
  }
}

export function versionConflict(aggregate: string, expected: number, actual: number): VersionConflictError {
  return new VersionConflictError(aggregate, expected, actual);
}
