import { ResponseError } from '../errors/comms-error.js';
import type { NewEvent, StoredEvent } from './event.js';

/**
 * An append whose `--id` is already taken by an event of another aggregate or type: not a retry of
 * the same append (which returns the original, `duplicate: true`) but a reused id, so it fails (exit 1)
 * and names what holds the id instead of passing an unrelated event off as the result.
 */
export class IdConflictError extends ResponseError {
  readonly existing: StoredEvent;

  constructor(input: NewEvent, existing: StoredEvent) {
    super(
      `id '${input.id}' is already used by ${existing.aggregate}@v${existing.version} ${existing.type} (position ${existing.position}), not ${input.aggregate} ${input.type}`,
      {
        code: 'COMMS_ERR_ID_CONFLICT',
        hint: 'an --id names one event; use a new id for a different aggregate or type',
      },
    );
    this.name = 'IdConflictError';
    this.existing = existing;
  }
}

/** The original event when `existing` is the same append again; throws IdConflictError when the id was reused. */
export function sameAppend(input: NewEvent, existing: StoredEvent): StoredEvent {
  if (existing.aggregate !== input.aggregate || existing.type !== input.type)
    throw new IdConflictError(input, existing);
  return existing;
}
