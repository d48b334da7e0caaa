/** The worker's live heap after a full collection (vitest.config.ts runs workers with --expose-gc). */
export function heapUsedAfterGc(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (typeof gc !== 'function') throw new Error('vitest.config.ts runs test workers with --expose-gc');
  gc();
  return process.memoryUsage().heapUsed;
}

/**
 * Bytes of the worker's ArrayBuffers (Buffers of their own, such as a `/metrics` render) after
 * full collections: what is still held. V8 frees the memory of the ArrayBuffers a collection found
 * dead on a background thread, and counts it freed only once that is done, at the next collection:
 * after one, a render already collected was still counted (on a loaded machine, 48 MiB read with
 * 32 MiB live). So collections are run until the count stops falling (at most four).
 */
export function arrayBuffersAfterGc(): number {
  heapUsedAfterGc();
  let bytes = process.memoryUsage().arrayBuffers;
  for (let more = 0; more < 3; more++) {
    heapUsedAfterGc();
    const now = process.memoryUsage().arrayBuffers;
    if (now >= bytes) return now;
    bytes = now;
  }
  return bytes;
}

/** A distinct one-byte string of `length` characters, in memory of its own. */
export function bigText(label: string, length = 1024 * 1024): string {
  return `${label}:`.padEnd(length, 'x');
}
