import { isIPv4, type BlockList } from 'node:net';
import type { IncomingMessage } from 'node:http';

export interface ProxyUserOptions {
  /** Lower-case header name, e.g. x-forwarded-user (oauth2-proxy) or x-auth-request-user. */
  userHeader: string;
  trusted: BlockList;
}

// A user name as it may appear in a log line: printable, no separators that fake structure, capped.
const SAFE_USER = /^[\w.@+=:~-]{1,256}$/;

/** Whether a peer address is in the trusted list (IPv4-mapped IPv6 peers are checked as IPv4). */
export function isTrustedPeer(trusted: BlockList, address: string | undefined): boolean {
  if (address === undefined) return false;
  const mapped = address.toLowerCase().startsWith('::ffff:') ? address.slice(7) : undefined;
  if (mapped !== undefined && isIPv4(mapped)) return trusted.check(mapped, 'ipv4');
  return trusted.check(address, isIPv4(address) ? 'ipv4' : 'ipv6');
}

/**
 * The user an authenticating proxy vouches for, read only when the TCP peer is a trusted proxy;
 * from anyone else the header is ignored. Undefined when absent, repeated or not a plain name.
 */
export function readProxyUser(req: IncomingMessage, options: ProxyUserOptions): string | undefined {
  if (!isTrustedPeer(options.trusted, req.socket.remoteAddress)) return undefined;
  const value = req.headers[options.userHeader];
  return typeof value === 'string' && SAFE_USER.test(value) ? value : undefined;
}
