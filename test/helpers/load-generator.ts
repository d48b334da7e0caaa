import http from 'node:http';

/** What a load run saw: ids of alerts answered 2xx, other statuses, and transport errors. */
export interface LoadResult {
  acceptedIds: string[];
  statuses: Record<number, number>;
  errors: Record<string, number>;
}

export interface LoadGenerator {
  /** Stops starting new requests and resolves once every request in flight has finished. */
  stop(): Promise<LoadResult>;
  accepted(): number;
}

/**
 * Posts `body` to /alerts from `workers` loops until stopped: half reuse keep-alive connections
 * (Falco 0.36+), half open a connection per request (Falco 0.34/0.35).
 */
export function startLoad(port: number, body: string, workers = 8): LoadGenerator {
  const result: LoadResult = { acceptedIds: [], statuses: {}, errors: {} };
  const keepAlive = new http.Agent({ keepAlive: true, maxSockets: workers });
  let running = true;
  const post = (agent: http.Agent | false) =>
    new Promise<void>((resolve) => {
      const headers = { 'content-type': 'application/json' };
      const req = http.request(
        { host: '127.0.0.1', port, path: '/alerts', method: 'POST', agent, headers },
        (res) => {
          res.resume();
          res.on('end', () => {
            const status = res.statusCode ?? 0;
            result.statuses[status] = (result.statuses[status] ?? 0) + 1;
            // The id is a header: an accepted alert's 202 has no body (Falco 0.34 logs bodies).
            if (status >= 200 && status < 300) result.acceptedIds.push(String(res.headers['x-alert-id']));
            resolve();
          });
          res.on('error', () => resolve());
        },
      );
      req.on('error', (error: NodeJS.ErrnoException) => {
        const code = error.code ?? error.message;
        result.errors[code] = (result.errors[code] ?? 0) + 1;
        // Refused: the listener is closed; back off instead of spinning.
        setTimeout(resolve, code === 'ECONNREFUSED' ? 20 : 0);
      });
      req.end(body);
    });
  const loops = Array.from({ length: workers }, async (_, index) => {
    while (running) await post(index % 2 === 0 ? keepAlive : false);
  });
  return {
    accepted: () => result.acceptedIds.length,
    async stop() {
      running = false;
      await Promise.all(loops);
      keepAlive.destroy();
      return result;
    },
  };
}
