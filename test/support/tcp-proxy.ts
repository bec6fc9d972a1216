import { createConnection, createServer, type Socket } from 'node:net';

export interface TcpProxy {
  port: number;
  /** Drop every connection and refuse new ones (they are closed at once): the server "goes away". */
  cut: () => void;
  /** Pass connections through again. */
  restore: () => void;
  close: () => Promise<void>;
}

/**
 * A loopback TCP proxy to `host:port`, so a test can take a server away from one client (a worker)
 * without stopping the server that other tests share.
 */
export function startTcpProxy(host: string, port: number): Promise<TcpProxy> {
  const open = new Set<Socket>();
  let cut = false;
  const server = createServer((client) => {
    if (cut) {
      client.destroy();
      return;
    }
    const upstream = createConnection({ host, port });
    open.add(client).add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream).pipe(client);
  });
  return new Promise((res, rej) => {
    server.once('error', rej);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      res({
        port: typeof address === 'object' && address ? address.port : 0,
        cut: () => {
          cut = true;
          for (const s of open) s.destroy();
          open.clear();
        },
        restore: () => {
          cut = false;
        },
        close: () =>
          new Promise((done) => {
            for (const s of open) s.destroy();
            server.close(() => done());
          }),
      });
    });
  });
}
