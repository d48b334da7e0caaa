import request from 'supertest';
import { describe, expect, it, vi } from 'vitest';
import * as serialize from '../../src/alerts/serialize-alert.js';
import { createOpenApiRouter } from '../../src/http/routes/openapi.js';
import express from 'express';

vi.mock('../../src/alerts/serialize-alert.js', async (importOriginal) => {
  const original = await importOriginal<typeof serialize>();
  return { ...original, toJson: vi.fn(original.toJson) };
});

// Regression (review): the document was serialized again for every request: 600 pipelined on one
// connection cost 660 ms of CPU and held /healthz 0.8 s.
describe('GET /openapi.json', () => {
  it('serializes the document once and sends the same bytes to every request', async () => {
    const app = express().use(createOpenApiRouter());

    const first = await request(app).get('/openapi.json');
    const second = await request(app).get('/openapi.json');

    expect(first.status).toBe(200);
    expect(first.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(second.text).toBe(first.text);
    expect(JSON.parse(first.text)).toMatchObject({ openapi: expect.stringMatching(/^3\.1/) });
    expect(vi.mocked(serialize.toJson)).toHaveBeenCalledTimes(1);
  });
});
