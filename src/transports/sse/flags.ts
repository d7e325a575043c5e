import { CALL_OPTIONS } from '../../command/call-options.js';
import { EXPECT_STREAM_OPTIONS } from '../../command/expect-options.js';
import { duration, flag, integer, list, type OptionValues, text } from '../../command/option.js';
import { TLS_OPTIONS } from '../../command/tls-options.js';

/**
 * `comms-cli sse` options. As for `ws`, `--timeout` is the idle timeout of the stream and
 * `--connect-timeout` the per-attempt timeout of one GET up to its response headers.
 */
export const SSE_OPTIONS = {
  header: list('-H, --header <header>', "request header 'Name: value' (repeatable)", { mapSyntax: ': ' }),
  user: text('-u, --user <user:password>', 'basic authentication', { secret: true }),
  ...TLS_OPTIONS,
  lastEventId: text('--last-event-id <id>', 'resume after this event id (sent as Last-Event-ID)'),
  count: integer('--count <n>', 'stop after n events (after the --event filter)', { min: 1 }),
  event: list('--event <name>', "only events of this type ('message' is the unnamed type; repeatable)"),
  until: text('--until <spec>', 'stop after the first event whose data matches text, /regex/ or path=value'),
  // --expect-count / --expect-message: the stream expectations every stream command shares;
  // --expect-event is SSE's own name for --expect-message, kept.
  ...EXPECT_STREAM_OPTIONS,
  expectEvent: list(
    '--expect-event <spec>',
    "an event's data must match (the same as --expect-message): text, /regex/, or path=value on JSON (repeatable)",
  ),
  reconnect: flag('--reconnect', 'reconnect when the stream ends (honours retry:, sends Last-Event-ID)'),
  connectTimeout: duration('--connect-timeout <dur>', 'timeout of one request up to its response headers', {
    default: 10_000,
  }),
  ...CALL_OPTIONS,
  timeout: duration('--timeout <dur>', 'idle timeout: give up when no event arrives for this long (exit 4)'),
};
export type SseValues = OptionValues<typeof SSE_OPTIONS>;
