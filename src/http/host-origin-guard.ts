import { isIP } from 'node:net';
import type { NextFunction, Request, Response } from 'express';
import type { Registry } from 'prom-client';
import { createReasonCounter } from '../metrics/reason-counter.js';
import { buildProblem, sendProblem } from './problem.js';

/** Paths every caller may read whatever its Host: kubelet probes and Prometheus use pod IPs anyway. */
const OPEN_READ_PATHS = new Set(['/healthz', '/readyz', '/metrics']);
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The host name of a Host header value (`name:port`, `[v6]:port`), lower-cased, without a trailing dot. */
export function hostName(host: string): string {
  const bracketed = /^\[([^\]]*)\](?::\d*)?$/.exec(host);
  const name = bracketed ? bracketed[1]! : host.replace(/:\d*$/, '');
  return name.toLowerCase().replace(/\.$/, '');
}

/**
 * True when a read route may answer this Host. IP literals always pass: DNS rebinding needs a
 * name the attacker controls, and in-cluster callers use pod IPs. `*` in the list allows any name.
 */
export function hostAllowed(host: string | undefined, allowed: readonly string[]): boolean {
  if (host === undefined) return true;
  const name = hostName(host);
  return isIP(name) !== 0 || allowed.includes('*') || allowed.includes(name);
}

/**
 * True when a request's `Origin` is another site's: anything but the origin of the Host it was
 * sent to, on an allowed host. Falco and curl send no Origin; a browser sends one with every POST.
 */
export function foreignOrigin(origin: string, host: string | undefined, allowed: readonly string[]): boolean {
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return true;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return true;
  return host === undefined || url.host !== host.toLowerCase() || !hostAllowed(url.host, allowed);
}

/**
 * Refuses cross-site writes and DNS-rebound reads: a state-changing request (ingest, triggers)
 * with a foreign `Origin` gets 403; a read outside /healthz, /readyz and /metrics whose Host is
 * not allowed gets 421. Both are counted.
 */
export function hostOriginGuard(allowed: readonly string[], registry: Registry) {
  const refused = createReasonCounter(
    registry,
    'falco_http_refused_total',
    'Requests refused for a foreign Origin (403) or a Host outside ALLOWED_HOSTS (421).',
    ['foreign_origin', 'host_not_allowed'],
  );
  return (req: Request, res: Response, next: NextFunction): void => {
    const { host, origin } = req.headers;
    if (!SAFE_METHODS.has(req.method)) {
      if (origin === undefined || !foreignOrigin(origin, host, allowed)) return next();
      refused.inc('foreign_origin');
      const detail =
        "Requests from another site are refused: this Origin is not the receiver's own (Falco, curl and API clients send none).";
      sendProblem(res, buildProblem('forbidden-origin', { detail }));
      return;
    }
    if (OPEN_READ_PATHS.has(req.path) || hostAllowed(host, allowed)) return next();
    refused.inc('host_not_allowed');
    const detail = 'This Host is not one this receiver answers to (ALLOWED_HOSTS).';
    sendProblem(res, buildProblem('misdirected-request', { detail }));
  };
}
