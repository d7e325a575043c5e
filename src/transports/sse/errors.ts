import { toCommsError } from '../../errors/classify.js';
import type { CommsError } from '../../errors/comms-error.js';

/** undici and system errors of an event stream, by code (the shared table); the target names the URL. */
export function sseError(err: unknown, target: string, signal?: AbortSignal): CommsError {
  return toCommsError(err, target, signal);
}
