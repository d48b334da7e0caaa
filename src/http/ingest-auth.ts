import express, { type NextFunction, type Request, type Response } from 'express';
import { Counter, type Registry } from 'prom-client';
import { callerAddress } from '../logging/caller-address.js';
import { createRefusalLines, type RefusalLines } from './auth/refusal-lines.js';
import { findSecret } from './auth/same-secret.js';
import { hasVerifiedClientCert } from './client-identity.js';
import { buildProblem, sendProblem } from './problem.js';

export interface IngestAuthOptions {
  /** Ingest only at `/alerts/<secret>`, any of these as they are now; plain `/alerts` and `/` are refused. */
  pathSecrets?: () => readonly string[];
  /** Ingest only over TLS with a verified client certificate (Falco `http_output.mtls`). */
  requireClientCert: boolean;
  registry: Registry;
  /** Where the refusals are logged (createIngestRefusalLines); the composition root flushes it. */
  lines: RefusalLines<IngestRefusalFields>;
}

type Reason = 'client_cert' | 'path_secret';

/** What an `ingest_unauthorized` line names: the sensor's address (to fix its URL) and the reason. */
export interface IngestRefusalFields {
  caller: string | undefined;
  reason: Reason;
}

/**
 * The `ingest_unauthorized` lines, counted per kind (refusal-lines.ts): a line per refused request
 * let a sensor with a wrong URL, or anyone reaching the port, choose how many lines were written.
 */
export const createIngestRefusalLines = (): RefusalLines<IngestRefusalFields> =>
  createRefusalLines({ event: 'ingest_unauthorized', level: 'warn', message: 'ingest refused' });

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
    // The address names the sensor to fix (as ingestLog's lines do).
    options.lines.add(req, { caller: callerAddress(req.socket.remoteAddress), reason });
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
