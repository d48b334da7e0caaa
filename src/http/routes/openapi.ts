import express from 'express';
import { toJson } from '../../alerts/serialize-alert.js';
import { buildOpenApiDocument } from '../openapi/build-openapi.js';

/**
 * `GET /openapi.json`: the API description, built on first request (not at start-up) and kept as
 * the bytes written: serialized again for every request, 600 pipelined cost 660 ms of CPU.
 */
export function createOpenApiRouter(): express.Router {
  const router = express.Router();
  let body: Buffer | undefined;
  router.get('/openapi.json', (_req, res) => {
    body ??= Buffer.from(toJson(buildOpenApiDocument()));
    res.status(200).type('application/json').send(body);
  });
  return router;
}
