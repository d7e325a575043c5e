import { portAnswers } from './broker-check.js';
import type { DemoPart } from './context.js';

/**
 * The MQTT tour: real `comms-cli mqtt` command lines against the machine's Mosquitto on
 * 127.0.0.1:1883. Skipped with one line when nothing answers there.
 */
export const mqttDemo: DemoPart = async (ctx) => {
  if (!(await portAnswers(1883))) {
    ctx.skip('no MQTT broker answers on 127.0.0.1:1883 (start it: mosquitto -d)');
    return;
  }
  const topic = `comms-demo/${process.pid}/status`;
  await ctx.step('Publish a retained message at QoS 1: done when the broker acknowledged it', 0, () =>
    ctx.command(['mqtt', 'publish', topic, '{"state":"ready"}', '--qos', '1', '--retain']),
  );
  await ctx.step('A later subscriber gets the retained message, marked as such', 0, () =>
    ctx.command(['mqtt', 'subscribe', topic, '--count', '1', '--timeout', '10s']),
  );
  await ctx.step('Clear the retained message (an empty retained publish)', 0, () =>
    ctx.command(['mqtt', 'publish', topic, '', '--retain', '--qos', '1']),
  );
  await ctx.step("An invalid filter ('#' must be last): exit 2, nothing sent", 2, () =>
    ctx.command(['mqtt', 'subscribe', 'a/#/b']),
  );
  await ctx.step('A request nobody answers: MQTT 5 response topic, --timeout 1s', 4, () =>
    ctx.command(['mqtt', 'request', `comms-demo/${process.pid}/nobody`, 'ping', '--timeout', '1s']),
  );
};
