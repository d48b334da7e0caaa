import type { ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { presentAlertJson } from '../alerts/serialize-alert.js';
import type { StoredAlert } from '../alerts/stored-alert.js';

/** Milliseconds of writing before the loop is handed back to other requests (probes, ingest). */
const TURN_BUDGET_MS = 2;

/** Resolves once the socket takes more, or the client is gone. */
export function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

/**
 * Writes `{"alerts":[...],"count":n}` from the stored texts, one alert at a time: at most `maxBytes`
 * (the first alert always goes out; past the cap the list ends with `"truncated":true`), waiting
 * while the client does not read, and yielding the event loop every couple of milliseconds.
 */
export async function writeAlertList(
  res: ServerResponse,
  entries: readonly StoredAlert[],
  maxBytes: number,
): Promise<void> {
  res.statusCode = 200;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  // Alerts, often read with a session cookie: never kept by a browser or proxy cache.
  res.setHeader('Cache-Control', 'no-store');
  const opening = '{"alerts":[';
  res.write(opening);
  let written = opening.length;
  let count = 0;
  let truncated = false;
  let turnStart = performance.now();
  for (const entry of entries) {
    const piece = presentAlertJson(entry);
    const size = Buffer.byteLength(piece) + 1;
    if (count > 0 && written + size > maxBytes) {
      truncated = true;
      break;
    }
    const flowing = res.write(count === 0 ? piece : `,${piece}`);
    written += size;
    count += 1;
    if (!flowing) await drained(res);
    else if (performance.now() - turnStart > TURN_BUDGET_MS) await nextTurn();
    else continue;
    if (res.destroyed) return;
    turnStart = performance.now();
  }
  res.end(`],"count":${count}${truncated ? ',"truncated":true' : ''}}`);
}
