import http from 'node:http';
import type { FuzzCase } from './alert-mutations.js';

/** What one POST got back: a status, or the transport error that lost the connection. */
export type PostOutcome = { status: number; body: string } | { error: string };

/** POSTs one fuzz case over a real socket (keep-alive through `agent`) and reads the whole answer. */
export function postFuzzCase(agent: http.Agent, port: number, fuzz: FuzzCase): Promise<PostOutcome> {
  return new Promise((resolve) => {
    const headers: http.OutgoingHttpHeaders = { 'content-length': fuzz.body.length };
    if (fuzz.contentType !== undefined) headers['content-type'] = fuzz.contentType;
    const req = http.request(
      { host: '127.0.0.1', port, method: 'POST', path: fuzz.path, headers, agent },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', (error) => resolve({ error: error.message }));
      },
    );
    req.on('error', (error) =>
      resolve({ error: `${(error as NodeJS.ErrnoException).code ?? ''} ${error.message}` }),
    );
    req.end(fuzz.body);
  });
}
