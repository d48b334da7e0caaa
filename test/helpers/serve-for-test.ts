import type { RequestListener } from 'node:http';
import { onTestFinished } from 'vitest';
import { boundPort, startServer } from '../../src/server/start-server.js';

/** Serves `app` on an ephemeral 127.0.0.1 port until the running test ends; its base URL. */
export async function serveForTest(app: RequestListener): Promise<string> {
  const server = await startServer(app, { host: '127.0.0.1', port: 0 });
  onTestFinished(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  return `http://127.0.0.1:${boundPort(server)}`;
}
