/** The routes a listener serves: see `AppDeps.surface`. */
export type Surface = 'all' | 'ingest' | 'admin';

// The core routes and the methods each serves (HEAD comes with GET), per surface.
const PROBES: Array<[string, string]> = [
  ['/metrics', 'GET, HEAD'],
  ['/healthz', 'GET, HEAD'],
  ['/readyz', 'GET, HEAD'],
];
const READS: Array<[string, string]> = [
  ['/alerts/stream', 'GET, HEAD'],
  ['/alerts/:id', 'GET, HEAD'],
];
/** Each core path of a surface and the methods it serves (its `Allow`). */
export const CORE_METHODS: Record<Surface, Array<[string, string]>> = {
  all: [['/alerts', 'GET, HEAD, POST'], ...READS, ...PROBES],
  // No 405 for GET /alerts here: on the ingest port reading does not exist (404).
  ingest: PROBES,
  admin: [['/alerts', 'GET, HEAD'], ...READS, ...PROBES],
};

/** What OPTIONS answers per path: the core routes, and `/` (the dashboard's page and Falco's ingest URL). */
export function optionsFor(surface: Surface): Array<[string, string]> {
  const root: Record<Surface, string> = { all: 'GET, HEAD, POST', ingest: 'POST', admin: 'GET, HEAD' };
  const ingestOnly: Array<[string, string]> = surface === 'ingest' ? [['/alerts', 'POST']] : [];
  return [['/', root[surface]], ...ingestOnly, ...CORE_METHODS[surface]];
}
