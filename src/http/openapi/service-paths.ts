import type { JsonSchema } from './json-schema.js';
import { json, problems, text } from './openapi-parts.js';
import { healthSchema } from './response-schemas.js';
import { metricsToken } from './security.js';

/** The service's own endpoints: health probes, Prometheus metrics and this document. */
export function buildServicePaths(): Record<string, JsonSchema> {
  return {
    '/healthz': {
      get: { operationId: 'healthz', tags: ['health'], responses: { '200': json(healthSchema, 'Alive') } },
    },
    '/readyz': {
      get: {
        operationId: 'readyz',
        tags: ['health'],
        responses: { '200': json(healthSchema, 'Ready'), '503': json(healthSchema, 'Shutting down') },
      },
    },
    '/metrics': {
      get: {
        operationId: 'metrics',
        tags: ['metrics'],
        security: metricsToken,
        responses: { '200': text('text/plain', 'Prometheus text format'), ...problems(401, 429) },
      },
    },
    '/openapi.json': {
      get: {
        operationId: 'openapi',
        responses: {
          '200': {
            description: 'This document',
            content: { 'application/json': { schema: { type: 'object' } } },
          },
          ...problems(421),
        },
      },
    },
  };
}
