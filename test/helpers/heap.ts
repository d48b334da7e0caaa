/** The worker's live heap after a full collection (vitest.config.ts runs workers with --expose-gc). */
export function heapUsedAfterGc(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (typeof gc !== 'function') throw new Error('vitest.config.ts runs test workers with --expose-gc');
  gc();
  return process.memoryUsage().heapUsed;
}

/**
 * Bytes of the worker's ArrayBuffers (Buffers of their own, such as a `/metrics` render) after a
 * full collection: what is still held.
 */
export function arrayBuffersAfterGc(): number {
  heapUsedAfterGc();
  return process.memoryUsage().arrayBuffers;
}

/** A distinct one-byte string of `length` characters, in memory of its own. */
export function bigText(label: string, length = 1024 * 1024): string {
  return `${label}:`.padEnd(length, 'x');
}
