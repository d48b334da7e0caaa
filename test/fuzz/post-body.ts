import http from 'node:http';
import type { FuzzCase } from './alert-mutations.js';

/** What one POST got back: a status, or the transport error that lost the connection. */
export type PostOutcome = { status: number; body: string } | { error: string };

/**
 * POSTs one fuzz case over a real socket (keep-alive through `agent`) and reads the whole answer.
 * A reset on a *reused* socket is the keep-alive race Node's docs describe (the server closed the
 * idle socket as the client reused it; curl checks for this before reuse): that one case is
 * retried once on a fresh connection, and `onStaleRetry` is told.
 */
export async function postFuzzCase(
  agent: http.Agent,
  port: number,
  fuzz: FuzzCase,
  onStaleRetry: () => void = () => undefined,
): Promise<PostOutcome> {
  const first = await postOnce(agent, port, fuzz);
  if (!('stale' in first)) return first;
  onStaleRetry();
  const retried = await postOnce(false, port, fuzz);
  return 'stale' in retried ? { error: retried.error } : retried;
}

function postOnce(
  agent: http.Agent | false,
  port: number,
  fuzz: FuzzCase,
): Promise<PostOutcome | { error: string; stale: true }> {
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
    req.on('error', (error: NodeJS.ErrnoException) => {
      const message = `${error.code ?? ''} ${error.message}`;
      resolve(
        req.reusedSocket && error.code === 'ECONNRESET'
          ? { error: message, stale: true }
          : { error: message },
      );
    });
    req.end(fuzz.body);
  });
}
