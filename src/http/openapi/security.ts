import type { JsonSchema } from './json-schema.js';

// Who may call what: the requirements operations list, and the schemes they name.

export const bearer = [{ bearer: [] }];
// Open unless VIEWER_TOKEN (reads) or METRICS_TOKEN (/metrics) is set: then 401 without it, and
// 429 once the caller's address failed AUTH_FAILURE_LIMIT times.
export const viewer = [{}, { viewer: [] }];
export const metricsToken = [{}, { metricsToken: [] }];

/** components.securitySchemes: one entry per name the requirements above use. */
export function buildSecuritySchemes(): JsonSchema {
  return {
    bearer: { type: 'http', scheme: 'bearer', description: 'TRIGGER_TOKEN' },
    viewer: {
      type: 'http',
      scheme: 'bearer',
      description: "VIEWER_TOKEN, when set (or the dashboard's session cookie, from POST /ui/session)",
    },
    metricsToken: { type: 'http', scheme: 'bearer', description: 'METRICS_TOKEN, when set' },
  };
}
