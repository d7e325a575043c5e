import type { Command } from 'commander';
import type { CommandContext } from '../../command/context.js';
import { addOptions, readOptions } from '../../command/option.js';
import {
  DEFAULT_MQTT_URL,
  PUBLISH_OPTIONS,
  REPLY_OPTIONS,
  REQUEST_OPTIONS,
  SUBSCRIBE_OPTIONS,
} from './flags.js';

/**
 * `comms-cli mqtt publish|subscribe|request|reply` (MQTT 5, or 3.1.1 with --mqtt-version): declarations only;
 * mqtt.js and the runners load only when a command runs.
 */
export function register(program: Command, ctx: CommandContext): void {
  const mqtt = program
    .command('mqtt')
    .description('MQTT 5 / 3.1.1: publish (QoS 0/1/2, retained), subscribe, request over response topics')
    .addHelpText(
      'after',
      `
Examples:
  $ comms-cli mqtt publish sensors/t1 '{"c":21.5}' --qos 1 --retain
  $ comms-cli mqtt subscribe 'sensors/#' --count 10 --json
  $ comms-cli mqtt reply svc/echo &   comms-cli mqtt request svc/echo ping --qos 1 --timeout 2s

Connection: --url or MQTT_URL (default ${DEFAULT_MQTT_URL}); --username/--password (MQTT_PASSWORD).
Exit codes: 0 ok, 1 failed, 2 usage, 3 unreachable/CONNACK refused, 4 timeout, 5 breaker open, 130 interrupted.`,
    );

  const publish = mqtt
    .command('publish')
    .description('publish messages to a topic; QoS 1/2 are done when the broker acknowledged them')
    .argument('<topic>', 'topic to publish to (no wildcards); templates like sensors/{{seq}} allowed')
    .argument('[payload]', 'message payload (or -d); empty when neither is given')
    .addHelpText(
      'after',
      `
Examples:
  $ comms-cli mqtt publish 'devices/{{seq}}/state' on --count 10 --qos 1 -H 'trace: {{uuid}}'
  $ comms-cli mqtt publish config/site '' --retain             # clears the retained message
  $ comms-cli mqtt publish bench/t x -n 10000 -c 20 --qos 1 --expect-p99 20ms`,
    )
    .action(async (topic: string, payload: string | undefined, _o: unknown, self: Command) => {
      const { runPublish } = await import('./commands/publish.js');
      ctx.setExit(await runPublish(topic, payload, readOptions(PUBLISH_OPTIONS, self.opts()), ctx));
    });
  addOptions(publish, PUBLISH_OPTIONS);

  const subscribe = mqtt
    .command('subscribe')
    .alias('sub')
    .description('print messages on a topic filter as they arrive (retained ones marked)')
    .argument('<filter>', "topic filter; '+' one level, '#' the rest (last level only)")
    .addHelpText(
      'after',
      `
Examples:
  $ comms-cli mqtt subscribe 'sensors/+/temp' --qos 1 --count 5 --timeout 10s
  $ comms-cli mqtt subscribe config/site --count 1 --json | jq .data`,
    )
    .action(async (filter: string, _o: unknown, self: Command) => {
      const { runSubscribe } = await import('./commands/subscribe.js');
      ctx.setExit(await runSubscribe(filter, readOptions(SUBSCRIBE_OPTIONS, self.opts()), ctx));
    });
  addOptions(subscribe, SUBSCRIBE_OPTIONS);

  const request = mqtt
    .command('request')
    .description('MQTT 5 request/response: response topic + correlation data; retries on timeout')
    .argument('<topic>', 'the topic a responder subscribes to')
    .argument('[payload]', 'request payload (or -d)')
    .action(async (topic: string, payload: string | undefined, _o: unknown, self: Command) => {
      const { runRequest } = await import('./commands/request.js');
      ctx.setExit(await runRequest(topic, payload, readOptions(REQUEST_OPTIONS, self.opts()), ctx));
    });
  addOptions(request, REQUEST_OPTIONS);

  const reply = mqtt
    .command('reply')
    .description(
      'answer MQTT 5 requests on a topic, for testing: echo, a fixed body, or a command; with injected faults',
    )
    .argument('<topic>', "the topic (or filter: '+', '#') requests arrive on")
    .addHelpText(
      'after',
      `
Examples:
  $ comms-cli mqtt reply svc/echo --qos 1
  $ comms-cli mqtt reply svc/time --exec 'date -u +%FT%TZ' --exec-timeout 2s
  $ comms-cli mqtt reply svc/flaky --fail-rate 50% --delay 20ms`,
    )
    .action(async (topic: string, _o: unknown, self: Command) => {
      const { runReply } = await import('./commands/reply.js');
      ctx.setExit(await runReply(topic, readOptions(REPLY_OPTIONS, self.opts()), ctx));
    });
  addOptions(reply, REPLY_OPTIONS);
}
