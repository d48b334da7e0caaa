import http from 'node:http';

// The runtime's limit for this job: read the body, JSON.parse it, answer 202. Nothing else.
const port = Number(process.env.PORT ?? 0);
const server = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    try {
      JSON.parse(Buffer.concat(chunks).toString('utf8'));
      res.writeHead(202, { 'content-type': 'application/json' }).end('{"accepted":true}');
    } catch {
      res.writeHead(400).end();
    }
  });
});
server.listen(port, '127.0.0.1', () => {
  process.stdout.write(`listening ${JSON.stringify(server.address())}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
