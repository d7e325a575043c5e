import { errorCode, toCommsError } from '../../errors/classify.js';
import { type CommsError, ResponseError } from '../../errors/comms-error.js';

/**
 * Errors of the `ws` library as CommsErrors, by their `code` (WS_ERR_*), never by message text.
 * System errors (refused, DNS, TLS) go through the shared table; anything else the library reports
 * during the handshake (bad Sec-WebSocket-Accept, subprotocol mismatch) is a failed response.
 */
export function wsError(err: unknown, target: string, signal?: AbortSignal): CommsError {
  const code = errorCode(err) ?? '';
  if (code === 'WS_ERR_INVALID_UTF8')
    return new ResponseError(`the server sent a text message that is not valid UTF-8 (${target})`, {
      cause: err,
      code: 'COMMS_ERR_WS_INVALID_UTF8',
      hint: 'text frames must be UTF-8; binary data belongs in binary frames',
    });
  if (code.startsWith('WS_ERR_'))
    return new ResponseError(`WebSocket protocol error from ${target}: ${(err as Error).message}`, {
      cause: err,
      code: 'COMMS_ERR_WS_PROTOCOL',
    });
  const typed = toCommsError(err, target, signal);
  if (typed.kind === 'response' && code === '')
    return new ResponseError(`WebSocket handshake with ${target} failed: ${typed.message}`, {
      cause: err,
      code: 'COMMS_ERR_WS_HANDSHAKE',
    });
  return typed;
}
