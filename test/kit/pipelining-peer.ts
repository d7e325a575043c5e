import { createServer, type Server, type Socket } from 'node:net';
import { listen } from './listen.js';

/**
 * A minimal HTTP/1.1 peer over node:net that shows what node:http hides: how many requests a
 * connection had sent that were not answered yet (node:http hands a pipelined request to its
 * handler only after the answer before it ended). It answers bodiless requests (GET) in order,
 * each `delayMs` after the one before, with `200 ok`.
 */
export interface PipeliningPeer {
  url: string;
  /** Connections accepted. */
  connections(): number;
  /** Requests read. */
  requests(): number;
  /** The most requests one connection had waiting for their answers at once. */
  maxUnanswered(): number;
  stop(): Promise<void>;
}

export async function startPipeliningPeer(delayMs = 2): Promise<PipeliningPeer> {
  let connections = 0;
  let requests = 0;
  let maxUnanswered = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    connections += 1;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let buffered = '';
    let unanswered = 0;
    let answering = false;
    const answerNext = (): void => {
      if (answering || unanswered === 0 || socket.destroyed) return;
      answering = true;
      setTimeout(() => {
        answering = false;
        if (socket.destroyed) return;
        unanswered -= 1;
        socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok');
        answerNext();
      }, delayMs);
    };
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      buffered += chunk;
      for (let end = buffered.indexOf('\r\n\r\n'); end >= 0; end = buffered.indexOf('\r\n\r\n')) {
        buffered = buffered.slice(end + 4);
        requests += 1;
        unanswered += 1;
        maxUnanswered = Math.max(maxUnanswered, unanswered);
      }
      answerNext();
    });
  });
  const port = await listen(server);
  return {
    url: `http://127.0.0.1:${port}/`,
    connections: () => connections,
    requests: () => requests,
    maxUnanswered: () => maxUnanswered,
    stop: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
