import { summaryQuerySchema } from '../dashboard/summary-query.js';
import type { JsonSchema } from './json-schema.js';
import { toJsonSchema, toQueryParameters } from './json-schema.js';
import { json, problems } from './openapi-parts.js';
import { dashboardConfigSchema, sessionSchema, signInSchema, summarySchema } from './response-schemas.js';
import { viewer } from './security.js';

// Signing out clears the cookie in the browser (stateless cookies are not revoked server-side).
const signOut = (operationId: string, summary: string): JsonSchema => ({
  operationId,
  summary,
  tags: ['dashboard'],
  responses: { '204': { description: 'Signed out: Set-Cookie clears falco_session' } },
});

/** What the dashboard page reads besides the alert list and stream, and its sign-in. */
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
    '/ui/session': {
      get: {
        operationId: 'whoAmI',
        summary: 'Who the caller is; without VIEWER_TOKEN, {"readAuth": false}',
        tags: ['dashboard'],
        security: viewer,
        responses: {
          '200': json(sessionSchema, 'The caller, or that reading is open'),
          ...problems(401, 429),
        },
      },
      post: {
        operationId: 'signIn',
        summary: 'With VIEWER_TOKEN: sign in once; sets the falco_session cookie',
        tags: ['dashboard'],
        requestBody: {
          required: true,
          content: { 'application/json': { schema: toJsonSchema(signInSchema, 'input') } },
        },
        responses: {
          '200': json(sessionSchema, 'Signed in (Set-Cookie: falco_session)'),
          ...problems(400, 401, 413, 415, 429),
        },
      },
      delete: signOut('signOut', 'With VIEWER_TOKEN: sign out'),
    },
    '/ui/logout': { post: signOut('logOut', 'With VIEWER_TOKEN: sign out (a form can post it)') },
    '/ui/summary': {
      get: {
        operationId: 'dashboardSummary',
        tags: ['dashboard', 'queries'],
        security: viewer,
        parameters: toQueryParameters(summaryQuerySchema),
        responses: {
          '200': json(summarySchema, 'Counts over the window'),
          ...problems(400, 401, 421, 429, 503),
        },
      },
    },
  };
}
