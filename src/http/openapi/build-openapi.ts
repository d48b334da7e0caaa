import { buildAlertPaths } from './alert-paths.js';
import { buildDashboardPaths } from './dashboard-paths.js';
import type { JsonSchema } from './json-schema.js';
import { SHARED } from './openapi-parts.js';
import { buildSecuritySchemes } from './security.js';
import { buildServicePaths } from './service-paths.js';
import { buildTriggerPaths } from './trigger-paths.js';

// The package version; the document describes this release's API.
const API_VERSION = '0.1.0';

/** The OpenAPI 3.1 document of every route, built from the zod schemas that validate and answer. */
export function buildOpenApiDocument(): JsonSchema {
  return {
    openapi: '3.1.0',
    info: {
      title: 'falco-alert-receiver',
      version: API_VERSION,
      description:
        'Receives Falco http_output alerts; stores, counts, streams and exports them; triggers detections.',
    },
    components: {
      schemas: Object.fromEntries(Object.entries(SHARED).map(([name, build]) => [name, build()])),
      securitySchemes: buildSecuritySchemes(),
    },
    paths: {
      ...buildAlertPaths(),
      ...buildServicePaths(),
      ...buildDashboardPaths(),
      ...buildTriggerPaths(),
    },
  };
}
