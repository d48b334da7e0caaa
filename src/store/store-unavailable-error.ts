/** A read from the shared store that cannot be answered now (Redis down, hung or failing over). */
export class StoreUnavailableError extends Error {
  constructor(cause?: unknown) {
    super(
      'The shared alert store (Redis) is unavailable. Ingest goes on: accepted alerts wait in this process and are written when it is back.',
      { cause },
    );
    this.name = 'StoreUnavailableError';
  }
}
