import { type OptionValues, text } from '../command/option.js';
import { OUTPUT_OPTIONS } from '../command/shared-options.js';

/** The demo is a tour for people: --json and --show-secrets have nothing to act on there. */
const { json: _json, showSecrets: _showSecrets, ...DEMO_OUTPUT_OPTIONS } = OUTPUT_OPTIONS;

/** `comms-cli demo` options. */
export const DEMO_OPTIONS = {
  only: text(
    '--only <parts>',
    'run only these parts (comma-separated: http,ws,sse,grpc,nats,events,amqp,mqtt)',
  ),
  ...DEMO_OUTPUT_OPTIONS,
};
export type DemoValues = OptionValues<typeof DEMO_OPTIONS>;
