import { CALL_OPTIONS } from '../../command/call-options.js';
import { EXPECT_STREAM_OPTIONS } from '../../command/expect-options.js';
import { duration, flag, integer, list, type OptionValues, text } from '../../command/option.js';
import { TLS_OPTIONS } from '../../command/tls-options.js';

/**
 * `comms-cli ws` options: declared once; --help, docs, check-file steps and the runner read them.
 * The shared call options come last; `--timeout` is redefined here as the idle timeout of the session
 * (a WebSocket lives long), and `--connect-timeout` is the per-attempt timeout of the handshake.
 */
export const WS_OPTIONS = {
  header: list('-H, --header <header>', "handshake request header 'Name: value' (repeatable)", {
    mapSyntax: ': ',
  }),
  subprotocol: list('--subprotocol <name>', 'offer this subprotocol (Sec-WebSocket-Protocol; repeatable)'),
  origin: text('--origin <origin>', 'Origin header of the handshake'),
  user: text('-u, --user <user:password>', 'basic authentication on the handshake', { secret: true }),
  ...TLS_OPTIONS,
  message: list('-m, --message <text>', 'send this message after connecting: text, @file, @- (repeatable)'),
  lines: flag('--lines', 'send each line read from stdin as one message'),
  binary: flag('--binary', 'send binary frames: -m is base64, @file is sent as is'),
  interval: duration(
    '--interval <dur>',
    'send the messages as a stream, one every <dur> (with --count: that many)',
  ),
  count: integer('--count <n>', 'stop after n messages received (with --interval: also send n)', { min: 1 }),
  until: text('--until <spec>', 'stop after the first message matching text, /regex/ or path=value'),
  listen: flag(
    '--listen',
    'keep receiving after the replies to what was sent (until close, --count, Ctrl-C)',
  ),
  ping: flag('--ping', 'send a ping after connecting and report the pong round trip'),
  // --expect-count / --expect-message: the stream expectations every stream command shares.
  ...EXPECT_STREAM_OPTIONS,
  expectClose: text('--expect-close <code>', 'the server must close with this code (e.g. 1000, 1011, 4000)'),
  closeCode: integer('--close-code <code>', 'close code we send when we close', { default: 1000 }),
  closeReason: text('--close-reason <text>', 'close reason we send (at most 123 bytes)'),
  reconnect: flag('--reconnect', 'reconnect (with backoff) when the connection drops, and keep receiving'),
  connectTimeout: duration('--connect-timeout <dur>', 'timeout of one handshake attempt', {
    default: 10_000,
  }),
  replyMatch: text(
    '--reply-match <path>',
    'load mode: pair a reply to its request by this JSON path (default: next message)',
  ),
  ...CALL_OPTIONS,
  timeout: duration('--timeout <dur>', 'idle timeout: give up when nothing arrives for this long (exit 4)'),
};
export type WsValues = OptionValues<typeof WS_OPTIONS>;
