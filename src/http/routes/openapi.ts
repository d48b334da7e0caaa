import express from 'express';
import { buildOpenApiDocument } from '../openapi/build-openapi.js';
import { sendJson } from '../send-json.js';

/** `GET /openapi.json`: the API description, built on first request (not at start-up) and kept. */
export function createOpenApiRouter(): express.Router {
  const router = express.Router();
  let document: ReturnType<typeof buildOpenApiDocument> | undefined;
  router.get('/openapi.json', (_req, res) => {
    document ??= buildOpenApiDocument();
    sendJson(res, 200, document);
  });
  return router;
}
