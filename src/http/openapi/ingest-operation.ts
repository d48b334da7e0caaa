import type { JsonSchema } from './json-schema.js';
import { json, problems, ref } from './openapi-parts.js';
import { acceptedSchema } from './response-schemas.js';

/** The operation that takes one Falco alert; every ingest path shares it. */
export function ingestOperation(operationId: string, summary: string): JsonSchema {
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
