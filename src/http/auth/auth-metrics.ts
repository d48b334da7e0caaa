import { Counter, type Registry } from 'prom-client';

/** The route groups auth failures are counted under (a fixed set: the path itself is untrusted). */
export const ROUTE_GROUPS = [
  'alerts',
  'stream',
  'dashboard',
  'triggers',
  'metrics',
  'session',
  'other',
] as const;
export type RouteGroup = (typeof ROUTE_GROUPS)[number];

/** The route group of a request path (any case: Express routes match /TRIGGERS as /triggers). */
export function routeGroupOf(anyCasePath: string): RouteGroup {
  const path = anyCasePath.toLowerCase();
  if (path === '/metrics') return 'metrics';
  if (path === '/alerts/stream') return 'stream';
  if (path === '/alerts' || path.startsWith('/alerts/')) return 'alerts';
  if (path === '/triggers' || path.startsWith('/triggers/')) return 'triggers';
  if (path === '/ui/session' || path === '/ui/logout') return 'session';
  if (path === '/' || path.startsWith('/ui/')) return 'dashboard';
  return 'other';
}

export interface AuthMetrics {
  /** A request refused for missing or wrong credentials (401), a viewer asking to trigger or a missing CSRF token (403). */
  failed(group: RouteGroup): void;
  /** A request refused with 429 because its address failed too often. */
  limited(group: RouteGroup): void;
}

export function createAuthMetrics(registry: Registry): AuthMetrics {
  const failures = new Counter({
    name: 'falco_auth_failures_total',
    help: 'Requests refused for missing or wrong credentials or CSRF token, per route group.',
    labelNames: ['route_group'],
    registers: [registry],
  });
  const limited = new Counter({
    name: 'falco_auth_rate_limited_total',
    help: 'Requests refused with 429 because their client address failed authentication too often.',
    labelNames: ['route_group'],
    registers: [registry],
  });
  for (const group of ROUTE_GROUPS) {
    failures.inc({ route_group: group }, 0);
    limited.inc({ route_group: group }, 0);
  }
  return {
    failed: (group) => failures.inc({ route_group: group }),
    limited: (group) => limited.inc({ route_group: group }),
  };
}
