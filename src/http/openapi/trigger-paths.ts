import type { z } from 'zod';
import {
  buildEventGeneratorRequestSchema,
  buildShellRequestSchema,
} from '../../triggers/trigger-request-schema.js';
import { toJsonSchema, type JsonSchema } from './json-schema.js';
import { idParameter, json, problems, ref } from './openapi-parts.js';
import { triggerRunListSchema } from './response-schemas.js';
import { bearer } from './security.js';

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
    responses: {
      '202': json(ref('TriggerRun'), 'Started: the run'),
      ...problems(400, 401, 404, 415, 429, 503),
    },
  };
}

/** Start, list, read and cancel trigger runs. */
export function buildTriggerPaths(): Record<string, JsonSchema> {
  return {
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
        responses: {
          '200': json(
            triggerRunListSchema,
            "Recent runs; with `partial`, this replica's own only (the shared store failed), or without the stored runs it cannot read",
          ),
          ...problems(401, 404, 421),
        },
      },
    },
    '/triggers/{id}': {
      get: {
        operationId: 'getTriggerRun',
        tags: ['triggers'],
        security: bearer,
        parameters: [idParameter('Run id')],
        responses: { '200': json(ref('TriggerRun'), 'The run'), ...problems(401, 404, 421, 503) },
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
  };
}
