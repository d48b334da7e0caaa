import { rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import express from 'express';
import { pino } from 'pino';
import { loadConfig } from '../src/config/load-config.js';
import { createReceiver } from '../src/create-receiver.js';
import { createLogger } from '../src/logging/create-logger.js';
import { buildPayloads } from './payloads.js';

// Where the CPU goes per request, layer by layer: the same loopback client against a bare
// handler, a minimal Express 5 route, and the full app. CPU time (client + server) of this one
// process, so other load on the machine stretches wall time but not these numbers.
function bare(): http.RequestListener {
  return (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      JSON.parse(Buffer.concat(chunks).toString('utf8'));
      res.writeHead(202, { 'content-length': '0' }).end();
    });
  };
}

function minimalExpress(): http.RequestListener {
  const app = express();
  const raw = express.raw({ type: () => true, limit: 1 << 20, inflate: false });
  app.post('/alerts', raw, (req, res) => {
    JSON.parse((req.body as Buffer).toString('utf8'));
    res.status(202).end();
  });
  return app;
}

const logFile = path.join(os.tmpdir(), `falco-http-layers-${process.pid}.log`);

function fullApp(): http.RequestListener {
  const logger = createLogger({
    level: 'info',
    destination: pino.destination({ dest: logFile, sync: true }),
  });
  const loaded = loadConfig({});
  if (!loaded.ok) throw new Error(loaded.problems.join('; '));
  return createReceiver(loaded.config, { logger }).app;
}

async function drive(port: number, body: string, count: number): Promise<void> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });
  let sent = 0;
  const post = () =>
    new Promise<void>((resolve, reject) => {
      const headers = { 'content-type': 'application/json' };
      const req = http.request(
        { host: '127.0.0.1', port, path: '/alerts', method: 'POST', agent, headers },
        (res) => {
          res.resume();
          res.on('end', resolve);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      while (sent++ < count) await post();
    }),
  );
  agent.destroy();
}

const layers = { bare, minimalExpress, fullApp };
console.log('| payload | bare node:http us | minimal Express 5 us | full app us |');
console.log('|---|---:|---:|---:|');
for (const payload of buildPayloads()) {
  const cells: string[] = [];
  for (const build of Object.values(layers)) {
    const server = http.createServer(build());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    await drive(port, payload.body, 1000);
    const started = process.cpuUsage();
    await drive(port, payload.body, 5000);
    const used = process.cpuUsage(started);
    cells.push(((used.user + used.system) / 5000).toFixed(0));
    await new Promise((resolve) => server.close(resolve));
  }
  console.log(`| ${payload.name} | ${cells.join(' | ')} |`);
}
rmSync(logFile, { force: true });
