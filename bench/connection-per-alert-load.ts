import { readFileSync } from 'node:fs';
import net from 'node:net';
import { AnswerReader, falcoRequest, printLoadResult } from './falco-wire.js';
import type { LoadSpec } from './load-process.js';

/**
 * Falco 0.34/0.35's sender, as captured from the real 0.34.1 build: per alert a new TCP connection
 * (TCP_NODELAY), the request in one write, the whole answer read, then close(2), so the client's FIN
 * comes first. There is no `Connection: close` header, and so no second request on a closing socket
 * (autocannon with `connection: close` wrote its next request into the socket the server was closing,
 * which made every close a reset). `connections` such senders run at once, closed-loop, for
 * `durationSeconds` or until `amount` alerts are answered. Runs in its own process, like autocannon.
 */
const spec = JSON.parse(process.argv[2] ?? '{}') as LoadSpec;
const url = new URL(spec.url);
const request = falcoRequest(url, readFileSync(spec.bodyFile));
const latencies: number[] = [];
let ok2xx = 0;
let non2xx = 0;
let errors = 0;
let issued = 0;
const started = performance.now();
const deadline = spec.amount ? Infinity : started + (spec.durationSeconds ?? 5) * 1000;

function more(): boolean {
  if (spec.amount ? issued >= spec.amount : performance.now() >= deadline) return false;
  issued++;
  return true;
}

// One sender: an alert per connection, the next one once this one's answer is in.
function send(done: () => void): void {
  if (!more()) return done();
  const sentAt = performance.now();
  const answers = new AnswerReader();
  const socket = net.connect({ host: url.hostname, port: Number(url.port), noDelay: true });
  let settled = false;
  const settle = (outcome: 'ok' | 'non2xx' | 'error') => {
    if (settled) return;
    settled = true;
    latencies.push(performance.now() - sentAt);
    if (outcome === 'ok') ok2xx++;
    else if (outcome === 'non2xx') non2xx++;
    else errors++;
    socket.destroy();
    send(done);
  };
  socket.on('data', (chunk: Buffer) => {
    const [ok] = answers.push(chunk);
    if (ok !== undefined) settle(ok ? 'ok' : 'non2xx');
  });
  socket.on('error', () => settle('error'));
  // Closed by the server before its answer was complete.
  socket.on('close', () => settle('error'));
  socket.write(request);
}

await Promise.all(
  Array.from({ length: spec.connections }, () => new Promise<void>((resolve) => send(resolve))),
);
const durationSeconds = (performance.now() - started) / 1000;
printLoadResult(
  { ok2xx, non2xx, errors },
  durationSeconds,
  latencies.sort((a, b) => a - b),
);
