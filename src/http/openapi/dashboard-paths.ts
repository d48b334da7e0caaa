import type { JsonSchema } from './json-schema.js';
import { json, problems } from './openapi-parts.js';
import { dashboardConfigSchema, summarySchema } from './response-schemas.js';
import { viewer } from './security.js';

/** What the dashboard page reads besides the alert list and stream. */
export function buildDashboardPaths(): Record<string, JsonSchema> {
  return {
    '/ui/config.json': {
      get: {
        operationId: 'dashboardConfig',
        tags: ['dashboard'],
        security: viewer,
        responses: {
          '200': json(dashboardConfigSchema, 'What the page shows'),
          ...problems(401, 421, 429),
        },
      },
    },
    '/ui/summary': {
      get: {
        operationId: 'dashboardSummary',
        tags: ['dashboard', 'queries'],
        security: viewer,
        parameters: [
          {
            name: 'window',
            in: 'query',
            required: false,
            schema: { type: 'string', enum: ['15m', '1h', '24h'], default: '1h' },
          },
        ],
        responses: {
          '200': json(summarySchema, 'Counts over the window'),
          ...problems(400, 401, 421, 429, 503),
        },
      },
    },
  };
}
