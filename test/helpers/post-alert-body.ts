import http from 'node:http';

/** What the server answered to a raw POST. */
export interface RawAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/**
 * POSTs a JSON body to /alerts the way Falco sends it (Content-Length: the node:http fast path)
 * or chunked (no Content-Length: the Express route), so tests can cover and compare both paths.
 */
export function postAlertBody(
  port: number,
  body: Buffer,
  chunked: boolean,
  headers: http.OutgoingHttpHeaders = {},
): Promise<RawAnswer> {
  return new Promise<RawAnswer>((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/alerts',
        headers: {
          'content-type': 'application/json',
          ...(chunked ? { 'transfer-encoding': 'chunked' } : { 'content-length': body.length }),
          ...headers,
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}
