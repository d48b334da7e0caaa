import type { z } from 'zod';
import {
  buildEventGeneratorRequestSchema,
  buildShellRequestSchema,
} from '../../triggers/trigger-request-schema.js';
import { exportFormatSchema } from '../routes/alert-export.js';
import { alertQuerySchema, streamQuerySchema } from '../routes/query-params.js';
import { toJsonSchema, toQueryParameters, type JsonSchema } from './json-schema.js';
import { SHARED, json, problems, ref, text } from './openapi-parts.js';
import {
  acceptedSchema,
  alertListSchema,
  dashboardConfigSchema,
  healthSchema,
  summarySchema,
  triggerRunListSchema,
} from './response-schemas.js';

// The package version; the document describes this release's API.
const API_VERSION = '0.1.0';

function ingest(operationId: string, summary: string): JsonSchema {
  return {
    operationId,
    summary,
    tags: ['ingest'],
    requestBody: {
      required: true,
      content: { 'application/json': { schema: ref('FalcoAlert') } },
    },
    parameters: [
      {
        name: 'Prefer',
        in: 'header',
        required: false,
        schema: { type: 'string', enum: ['return=representation'] },
        description: 'RFC 7240: answer 202 with `{id, receivedAt}` (by default the 202 has no body)',
      },
    ],
    responses: {
      '202': {
        ...json(
          acceptedSchema,
          'Accepted: stored, counted and logged. No body unless `Prefer: return=representation`',
        ),
        headers: {
          Location: { schema: { type: 'string' }, description: '/alerts/{id}' },
          'X-Alert-Id': { schema: { type: 'string' }, description: 'The id given to the alert' },
          'Preference-Applied': {
            schema: { type: 'string' },
            description: '`return=representation` when a body was sent',
          },
        },
      },
      ...problems(400, 401, 403, 413, 415, 503),
    },
  };
}

// `format` is described from its own schema below.
const listParameters = toQueryParameters(alertQuerySchema).filter((parameter) => parameter.name !== 'format');
const idParameter = (what: string) => ({
  name: 'id',
  in: 'path',
  required: true,
  schema: { type: 'string' },
  description: what,
});
const bearer = [{ bearer: [] }];
// Open unless VIEWER_TOKEN (reads) or METRICS_TOKEN (/metrics) is set: then 401 without it, and
// 429 once the caller's address failed AUTH_FAILURE_LIMIT times.
const viewer = [{}, { viewer: [] }];
const metricsToken = [{}, { metricsToken: [] }];
// The allow-lists come from the configuration; the request shape is the same for any of them.
const noLists = { namespaces: [], pods: [], containers: [], images: [] };

function trigger(operationId: string, summary: string, body: z.ZodType): JsonSchema {
  return {
    operationId,
    summary,
    tags: ['triggers'],
    security: bearer,
    requestBody: {
      required: false,
      content: { 'application/json': { schema: toJsonSchema(body, 'input') } },
    },
    responses: { '202': json(ref('TriggerRun'), 'Started: the run'), ...problems(400, 401, 404, 415, 429) },
  };
}

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
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'TRIGGER_TOKEN' },
        viewer: {
          type: 'http',
          scheme: 'bearer',
          description: "VIEWER_TOKEN, when set (or the dashboard's session cookie, from POST /ui/session)",
        },
        metricsToken: { type: 'http', scheme: 'bearer', description: 'METRICS_TOKEN, when set' },
      },
    },
    paths: {
      '/alerts': {
        post: ingest('ingestAlert', 'Ingest one Falco alert'),
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
                  description: 'A download cut at QUERY_MAX_BYTES (the JSON list says `"truncated":true`)',
                },
              },
            },
            ...problems(400, 401, 421, 429, 503),
          },
        },
      },
      '/': { post: ingest('ingestAlertAtRoot', 'Ingest one Falco alert (the falcosidekick URL)') },
      // One template for both (OpenAPI forbids two that differ only in the parameter's name).
      '/alerts/{id}': {
        post: {
          ...ingest(
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
            'Server-Sent Events: `event: alert`, `id: {id}`, `data:` a stored alert as GET /alerts/{id}; with others=true, alerts outside the filters as `event: other`; after a reconnect that cannot replay all it missed, `event: truncated` with `data: {reason}`',
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
      '/triggers/shell': {
        post: trigger(
          'triggerShell',
          'Start a shell with a terminal in a container',
          buildShellRequestSchema(noLists),
        ),
      },
      '/triggers/event-generator': {
        post: trigger(
          'triggerEventGenerator',
          'Run falcosecurity/event-generator once',
          buildEventGeneratorRequestSchema(noLists),
        ),
      },
      '/triggers': {
        get: {
          operationId: 'listTriggerRuns',
          tags: ['triggers'],
          security: bearer,
          responses: { '200': json(triggerRunListSchema, 'Recent runs'), ...problems(401, 404, 421) },
        },
      },
      '/triggers/{id}': {
        get: {
          operationId: 'getTriggerRun',
          tags: ['triggers'],
          security: bearer,
          parameters: [idParameter('Run id')],
          responses: { '200': json(ref('TriggerRun'), 'The run'), ...problems(401, 404, 421) },
        },
      },
      '/triggers/{id}/cancel': {
        post: {
          operationId: 'cancelTriggerRun',
          summary: 'Cancel a queued or running run: its commands stop, its cleanup still runs',
          tags: ['triggers'],
          security: bearer,
          parameters: [idParameter('Run id')],
          responses: {
            '202': json(
              ref('TriggerRun'),
              'Cancellation asked for: the run as it is now, with `cancelRequestedAt`. It ends `failed`, its error beginning "cancelled on request"',
            ),
            ...problems(401, 403, 404, 409, 415, 503),
          },
        },
      },
    },
  };
}
