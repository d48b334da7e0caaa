import express, { type NextFunction, type Request, type Response } from 'express';
import { Counter, type Registry } from 'prom-client';
import { findSecret } from './auth/same-secret.js';
import { hasVerifiedClientCert } from './client-identity.js';
import { buildProblem, sendProblem } from './problem.js';
import { ingestLog } from './routes/ingest-refusal.js';

export interface IngestAuthOptions {
  /** Ingest only at `/alerts/<secret>`, any of these as they are now; plain `/alerts` and `/` are refused. */
  pathSecrets?: () => readonly string[];
  /** Ingest only over TLS with a verified client certificate (Falco `http_output.mtls`). */
  requireClientCert: boolean;
  registry: Registry;
}

type Reason = 'client_cert' | 'path_secret';

/**
 * Guards the ingest routes with what Falco can send (it has no custom headers): a client
 * certificate and/or a secret path segment. A request that passes is rewritten to `/alerts`, so
 * the secret never reaches a route label, a log line or the ingest router. Undefined when off.
 */
export function createIngestAuth(options: IngestAuthOptions): express.Router | undefined {
  const { pathSecrets, requireClientCert } = options;
  if (pathSecrets === undefined && !requireClientCert) return undefined;
  const refused = new Counter({
    name: 'falco_ingest_unauthorized_total',
    help: 'Ingest requests refused because the client certificate or the secret path was missing or wrong.',
    labelNames: ['reason'],
    registers: [options.registry],
  });
  for (const reason of ['client_cert', 'path_secret']) refused.inc({ reason }, 0);

  const refuse = (req: Request, res: Response, reason: Reason, detail: string) => {
    refused.inc({ reason });
    ingestLog(req).warn({ event: 'ingest_unauthorized', reason }, 'ingest refused');
    sendProblem(res, buildProblem('ingest-unauthorized', { detail }));
  };

  const router = express.Router();
  // No `/<secret>` at the root: it would swallow feature routes such as `POST /triggers`.
  const paths = pathSecrets === undefined ? ['/alerts', '/'] : ['/alerts', '/', '/alerts/:secret'];
  router.post(paths, (req: Request, res: Response, next: NextFunction) => {
    if (requireClientCert && !hasVerifiedClientCert(req.socket)) {
      refuse(
        req,
        res,
        'client_cert',
        'Ingest needs a client certificate: post to the TLS listener (Falco http_output.mtls).',
      );
      return;
    }
    if (pathSecrets !== undefined) {
      const given = req.params.secret;
      if (typeof given !== 'string' || findSecret(given, pathSecrets()) === undefined) {
        refuse(
          req,
          res,
          'path_secret',
          'Ingest needs the secret path segment: POST /alerts/<INGEST_PATH_SECRET>.',
        );
        return;
      }
      req.url = '/alerts';
    }
    next();
  });
  return router;
}
