/** The longest part of a run id an UnreadableRunError quotes: ids are UUIDs, but a key may be written by hand. */
const ID_CAP = 64;

/**
 * What the shared store holds under a trigger run's key is not a run this version reads: not JSON,
 * or JSON of another shape (another version's, during a rolling upgrade, or written by hand). Its
 * message names the run and why (readStoredRun), never the stored text.
 */
export class UnreadableRunError extends Error {
  constructor(runId: string, why: string) {
    super(`What Redis holds for trigger run ${JSON.stringify(runId.slice(0, ID_CAP))} is ${why}`);
    this.name = 'UnreadableRunError';
  }
}
