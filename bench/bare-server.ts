import cluster from 'node:cluster';
import { openSync, writeSync } from 'node:fs';
import http from 'node:http';

// The runtime's limit for this job: read the body, JSON.parse it, answer 202. Nothing else.
// WORKERS > 1: the same server in node:cluster workers (the machine's limit with every core).
// LOG_FILE: the floor of a durable receiver ("bare+log"): before the 202, one JSON line holding the
// alert is appended to that file with a synchronous write, as the service writes its log line.
// The body's text is copied into the line (JSON.parse proved it valid), the cheapest honest line.
const port = Number(process.env.PORT ?? 0);
const workers = Number(process.env.WORKERS ?? 1);
const logFd = process.env.LOG_FILE ? openSync(process.env.LOG_FILE, 'a') : undefined;

function writeLogLine(fd: number, text: string): void {
  writeSync(
    fd,
    `{"level":"info","time":"${new Date().toISOString()}","alert":${text.trim()},"msg":"falco alert"}\n`,
  );
}

if (workers > 1 && cluster.isPrimary) {
  let listening = 0;
  for (let i = 0; i < workers; i++) {
    cluster.fork().once('listening', () => {
      if (++listening === workers) process.stdout.write(`listening on ${port} with ${workers} workers\n`);
    });
  }
  process.on('SIGTERM', () => {
    for (const worker of Object.values(cluster.workers ?? {})) worker?.kill('SIGTERM');
    process.exit(0);
  });
} else {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      try {
        const text = Buffer.concat(chunks).toString('utf8');
        JSON.parse(text);
        if (logFd !== undefined) writeLogLine(logFd, text);
        // An empty 202, as the service answers Falco (no body unless Prefer: return=representation).
        res.writeHead(202, { 'content-length': '0' }).end();
      } catch {
        res.writeHead(400).end();
      }
    });
  });
  server.listen(port, '127.0.0.1', () => {
    if (workers === 1) process.stdout.write(`listening ${JSON.stringify(server.address())}\n`);
  });
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
}
