import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { buildTestApp } from '../helpers/test-app.js';

const PRIORITY_CHOICE =
  'must be one of Emergency, Alert, Critical, Error, Warning, Notice, Informational, Debug (exact case)';

// Regression (new-user audit): GET /alerts?priority=notice said zod's 'Invalid option: expected one
// of "Emergency"|"Alert"|...', where ingest says the same refusal in the service's words.
describe('a priority filter that is not a Falco priority name', () => {
  it.each([
    ['/alerts?priority=notice', 'priority'],
    ['/alerts?min_priority=WARNING', 'min_priority'],
    ['/alerts/stream?min_priority=loud', 'min_priority'],
    ['/alerts/stream?priority=', 'priority'],
  ])('is refused by %s with the words ingest uses', async (path, name) => {
    const { app } = buildTestApp();

    const res = await request(app).get(path);

    expect(res.status).toBe(400);
    expect(res.type).toBe('application/problem+json');
    expect(res.body.detail).toBe(`${name}: ${PRIORITY_CHOICE}`);
    expect(res.body.errors).toEqual([{ pointer: name, detail: PRIORITY_CHOICE }]);
  });

  it('is said as ingest says it of an alert whose priority is not one', async () => {
    const { app } = buildTestApp();

    const res = await request(app)
      .post('/alerts')
      .set('Content-Type', 'application/json')
      .send(JSON.stringify({ rule: 'R', priority: 'notice', time: '2026-12-05T08:00:00Z' }));

    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([{ pointer: '/priority', detail: PRIORITY_CHOICE }]);
  });
});
