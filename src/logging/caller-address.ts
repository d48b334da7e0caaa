import { isIPv4 } from 'node:net';

/**
 * A peer's address as log lines name it (`caller`): an IPv4 client of a dual-stack listener
 * (HOST=::, the image's) as `a.b.c.d`, the pod IP as Kubernetes shows it, not `::ffff:a.b.c.d`. The
 * per-address budgets keep the socket's own form, the same on every listener of the process.
 */
export function callerAddress(address: string): string;
export function callerAddress(address: string | undefined): string | undefined;
export function callerAddress(address: string | undefined): string | undefined {
  return address?.startsWith('::ffff:') && isIPv4(address.slice(7)) ? address.slice(7) : address;
}
