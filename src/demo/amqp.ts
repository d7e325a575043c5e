import { portAnswers } from './broker-check.js';
import type { DemoPart } from './context.js';

/**
 * The AMQP tour: real `comms-cli amqp` command lines against the machine's RabbitMQ on
 * 127.0.0.1:5672 (guest/guest). Skipped with one line when nothing answers there.
 */
export const amqpDemo: DemoPart = async (ctx) => {
  if (!(await portAnswers(5672))) {
    ctx.skip('no RabbitMQ answers on 127.0.0.1:5672 (start it: rabbitmq-server -detached)');
    return;
  }
  const q = `comms-demo.${process.pid}`;
  await ctx.step('Publish 3 messages to a new queue; each one confirmed by the broker', 0, () =>
    ctx.command(['amqp', 'publish', q, 'order {{seq}}', '--count', '3', '--declare', '--auto-delete']),
  );
  await ctx.step(
    'Consume them: each acked only after stdout took it (the queue goes with its consumer)',
    0,
    () => ctx.command(['amqp', 'consume', q, '--count', '3']),
  );
  await ctx.step('A queue that does not exist: 404 NOT_FOUND, with the broker text', 1, () =>
    ctx.command(['amqp', 'publish', `${q}.missing`, 'x']),
  );
  await ctx.step('--mandatory: a message no queue is bound for comes back unroutable', 3, () =>
    ctx.command(['amqp', 'publish', 'amq.direct', '-r', `${q}.nobody`, 'x', '--mandatory']),
  );
  const rpc = `${q}.rpc`;
  const responder = ctx.command(['amqp', 'reply', rpc, '--declare', '--auto-delete', '--count', '1', '-q']);
  await ctx.step('RPC over direct reply-to, answered by `amqp reply` running beside it', 0, async () => {
    // The responder declares its queue: retry until it is there.
    const exit = await ctx.command([
      'amqp',
      'request',
      rpc,
      'ping',
      '--retries',
      '10',
      '--backoff',
      '100ms',
      '--timeout',
      '5s',
    ]);
    await responder;
    return exit;
  });
};
