import type http from 'node:http';
import type https from 'node:https';
import type { Socket } from 'node:net';

/** A socket Node's HTTP server serves: `_httpMessage` is the response of its request in progress. */
type ServedSocket = Socket & { _httpMessage?: { finished?: boolean } | null };

/** A connection of Node's list: its HTTP parser, with the socket it reads. */
interface NodeConnection {
  socket?: ServedSocket;
}

/** No response is being written on it (none yet, or the last one finished), as closeIdleConnections reads it. */
export function answersNothing(socket: ServedSocket): boolean {
  return !socket._httpMessage || socket._httpMessage.finished === true;
}

/**
 * Node's own list of a listening server's connections (node:http's `kConnections`, Node 18.2 and
 * later), the one its header and request timeouts walk.
 */
export interface NodeConnections {
  all(): NodeConnection[];
  /** Kept alive between two requests, nothing of the next one read (what closeIdleConnections reads). */
  idle(): NodeConnection[];
  /**
   * Those whose request has taken longer than `requestMs` (0: no limit), or its headers (since its
   * first byte, or since the connection opened) longer than `headersMs`; Node stops timing them.
   */
  expired(headersMs: number, requestMs: number): NodeConnection[];
}

export function nodeConnections(server: http.Server | https.Server): NodeConnections | undefined {
  const key = Object.getOwnPropertySymbols(server).find(
    (symbol) => symbol.description === 'http.server.connections',
  );
  const list = key && (server as unknown as Record<symbol, Partial<NodeConnections> | undefined>)[key];
  return typeof list?.all === 'function' ? (list as NodeConnections) : undefined;
}
