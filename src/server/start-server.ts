import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RequestListener } from 'node:http';

export interface ServerOptions {
  host: string;
  port: number;
}

/** Listens with the app; resolves once the port is bound. */
export async function startServer(app: RequestListener, options: ServerOptions): Promise<http.Server> {
  const server = http.createServer(app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}

/** The port the server is bound to (useful with port 0). */
export function boundPort(server: http.Server): number {
  return (server.address() as AddressInfo).port;
}
