import { readFileSync } from 'node:fs';
import { falcoRequest, printLoadResult, sendOnNewConnection } from './falco-wire.js';
import type { LoadSpec } from './load-process.js';

/**
 * Falco 0.34/0.35's sender (falco-wire.ts `sendOnNewConnection`): a new connection per alert, closed
 * by the client once the answer is in. There is no `Connection: close` header, and so no second request on a closing socket
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
  sendOnNewConnection(url, request, (outcome) => {
    latencies.push(performance.now() - sentAt);
    if (outcome === 'ok') ok2xx++;
    else if (outcome === 'non2xx') non2xx++;
    else errors++;
    send(done);
  });
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
