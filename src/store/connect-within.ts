import { withDeadline } from './with-deadline.js';

// A hung Redis accepts the TCP connection and never answers the handshake: give up and destroy.
export const CONNECT_DEADLINE_MS = 3_000;

/** Waits for a connect, or destroys it and rejects once CONNECT_DEADLINE_MS have passed. */
export async function connectWithin(connecting: Promise<unknown>, destroy: () => void): Promise<void> {
  try {
    await withDeadline(connecting, CONNECT_DEADLINE_MS, 'redis handshake');
  } catch (error) {
    destroy();
    throw error;
  }
}
