import net from 'node:net';

/** True when something accepts a TCP connection on 127.0.0.1:port within `ms` (the broker demos' precondition). */
export function portAnswers(port: number, ms = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(ms, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}
