import { duration, integer, type OptionValues, text } from '../../command/option.js';
import { OUTPUT_OPTIONS } from '../../command/shared-options.js';

/** `comms-cli serve ws` options (each fault can also be set per connection in the URL's query). */
export const SERVE_WS_OPTIONS = {
  port: integer('--port <port>', 'port to listen on (0 = random; the URL is printed on stdout first)', {
    default: 0,
    max: 65535,
  }),
  host: text('--host <host>', 'address to bind', { default: '127.0.0.1' }),
  delay: duration('--delay <dur>', 'delay every echo/broadcast by this much'),
  dropAfter: integer(
    '--drop-after <n>',
    'end each connection after n messages (dropped: the client sees 1006)',
  ),
  closeCode: integer('--close-code <code>', 'close with this code instead of dropping (alone: at once)', {
    min: 1000,
    max: 4999,
  }),
  refuse: integer('--refuse <status>', 'refuse every upgrade with this HTTP status (e.g. 401, 503)', {
    min: 100,
    max: 599,
  }),
  ...OUTPUT_OPTIONS,
};
export type ServeWsValues = OptionValues<typeof SERVE_WS_OPTIONS>;
