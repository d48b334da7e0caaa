import http from 'node:http';

/** A status and body text. */
export interface Reply {
  status: number;
  body: string;
}

/**
 * One request on a new TCP connection (agent: false), as Falco 0.34 posts: node:cluster spreads
 * such requests over its workers.
 */
export function requestOnNewConnection(
  port: number,
  method: string,
  path: string,
  body?: string | Buffer,
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        agent: false,
        headers: { 'content-type': 'application/json' },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}
