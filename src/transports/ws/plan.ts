import type { CallSettings } from '../../command/call-options.js';
import type { StreamExpectations } from '../../command/expect-options.js';
import type { MessageMatcher } from '../../core/message-match.js';
import type { WsValues } from './flags.js';

/** The `ws` command's plan: everything parsed and checked before anything is sent (exit 2 otherwise). */
export interface WsPlan extends CallSettings {
  url: URL;
  values: WsValues;
  idleMs: number | undefined;
  until: MessageMatcher | undefined;
  /** --expect-count / --expect-message (the shared stream expectations). */
  expect: StreamExpectations;
  expectClose: number[] | undefined;
  closeReason: string;
}
