import http from 'node:http';

/** A live-stream client on 127.0.0.1 that records the ids of the `alert` events it receives. */
export interface SseClient {
  ids: string[];
  /** The `data` of each `alert` event, as received (one line: the alert's JSON). */
  data: string[];
  /** For each `truncated` event, how many alert ids had come before it. */
  truncatedAt: number[];
  /** Resolves once `count` alert events arrived (rejects after `timeoutMs`). */
  waitFor(count: number, timeoutMs?: number): Promise<void>;
  close(): void;
}

export async function openSseClient(port: number, headers: Record<string, string> = {}): Promise<SseClient> {
  const ids: string[] = [];
  const data: string[] = [];
  const truncatedAt: number[] = [];
  let carry = '';
  const req = http.get({ host: '127.0.0.1', port, path: '/alerts/stream', headers });
  await new Promise<void>((resolve, reject) => {
    req.once('error', reject);
    req.once('response', (res) => {
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        const events = (carry + chunk).split('\n\n');
        carry = events.pop() ?? '';
        for (const event of events) {
          const id = /^id: (.+)$/m.exec(event)?.[1];
          if (id !== undefined && /^event: alert$/m.test(event)) {
            ids.push(id);
            data.push(/^data: (.*)$/m.exec(event)?.[1] ?? '');
          }
          if (/^event: truncated$/m.test(event)) truncatedAt.push(ids.length);
          if (event.includes(': connected')) resolve();
        }
      });
    });
  });
  return {
    ids,
    data,
    truncatedAt,
    async waitFor(count, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (ids.length < count) {
        if (Date.now() > deadline) throw new Error(`stream got ${ids.length} of ${count} alerts`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    close: () => req.destroy(),
  };
}
