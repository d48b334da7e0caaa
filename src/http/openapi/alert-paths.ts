import { exportFormatSchema } from '../routes/alert-export.js';
import { alertQuerySchema, streamQuerySchema } from '../routes/query-params.js';
import { ingestOperation } from './ingest-operation.js';
import { toJsonSchema, toQueryParameters, type JsonSchema } from './json-schema.js';
import { idParameter, json, problems, ref, text } from './openapi-parts.js';
import { alertListSchema } from './response-schemas.js';
import { viewer } from './security.js';

// `format` is described from its own schema below.
const listParameters = toQueryParameters(alertQuerySchema).filter((parameter) => parameter.name !== 'format');

/** Ingest, query, export and stream alerts. */
export function buildAlertPaths(): Record<string, JsonSchema> {
  return {
    '/alerts': {
      post: ingestOperation('ingestAlert', 'Ingest one Falco alert'),
      get: {
        operationId: 'listAlerts',
        summary: 'Recent alerts, newest first; format=ndjson|csv downloads the same list',
        tags: ['queries', 'export'],
        security: viewer,
        parameters: [
          ...listParameters,
          {
            name: 'format',
            in: 'query',
            required: false,
            schema: toJsonSchema(exportFormatSchema, 'input'),
          },
        ],
        responses: {
          '200': {
            description: 'The alerts (JSON), or a download (JSON Lines of the same objects, or CSV)',
            content: {
              'application/json': { schema: toJsonSchema(alertListSchema, 'output') },
              'application/x-ndjson': { schema: { type: 'string' } },
              'text/csv': { schema: { type: 'string' } },
            },
            headers: {
              'X-Alerts-Truncated': {
                schema: { type: 'string', enum: ['true'] },
                description:
                  'A download cut as the JSON list is (it says `"truncated":true`): at QUERY_MAX_BYTES, or at a shared store\'s own read bound',
              },
            },
          },
          ...problems(400, 401, 421, 429, 503),
        },
      },
    },
    '/': { post: ingestOperation('ingestAlertAtRoot', 'Ingest one Falco alert (the falcosidekick URL)') },
    // One template for both (OpenAPI forbids two that differ only in the parameter's name).
    '/alerts/{id}': {
      post: {
        ...ingestOperation(
          'ingestAlertWithSecret',
          'Ingest when INGEST_PATH_SECRET is set: the path is /alerts/{secret}',
        ),
        parameters: [idParameter('The INGEST_PATH_SECRET (this path takes alerts only when it is set)')],
      },
      get: {
        operationId: 'getAlert',
        tags: ['queries'],
        security: viewer,
        parameters: [idParameter('Alert id')],
        responses: {
          '200': json(ref('StoredAlert'), 'The alert'),
          ...problems(400, 401, 404, 421, 429, 503),
        },
      },
    },
    '/alerts/stream': {
      get: {
        operationId: 'streamAlerts',
        summary:
          'Server-Sent Events: `event: alert`, `id: {id}`, `data:` a stored alert as GET /alerts/{id}; with others=true, alerts outside the filters as `event: other`; after a reconnect that cannot replay all it missed, or when a shared store removed alerts before this replica read them, `event: truncated` with `data: {reason}`',
        tags: ['stream'],
        security: viewer,
        parameters: [
          ...toQueryParameters(streamQuerySchema),
          { name: 'Last-Event-ID', in: 'header', required: false, schema: { type: 'string' } },
        ],
        responses: {
          '200': text('text/event-stream', 'The live stream'),
          ...problems(400, 401, 421, 429),
        },
      },
    },
  };
}
