import net from 'node:net';

/**
 * The machine's brokers (RabbitMQ on 5672, Mosquitto on 1883; `.ci/run` starts them). A test file
 * probes once at load and skips itself, saying so, when its broker does not answer.
 */
export const RABBITMQ_PORT = 5672;
export const MOSQUITTO_PORT = 1883;

/** Does something accept TCP connections on 127.0.0.1:port? */
export function brokerAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** Probe a broker; warn (the tests that need it are then skipped) when it does not answer. */
export async function brokerUp(name: 'RabbitMQ' | 'Mosquitto'): Promise<boolean> {
  const port = name === 'RabbitMQ' ? RABBITMQ_PORT : MOSQUITTO_PORT;
  const up = await brokerAnswers(port);
  if (!up)
    console.warn(`${name} does not answer on 127.0.0.1:${port}: its tests are skipped (.ci/run starts it)`);
  return up;
}
