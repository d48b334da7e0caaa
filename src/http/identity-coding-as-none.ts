import type { NextFunction, Request, Response } from 'express';
import { isIdentityCoding } from './routes/ingest-media-type.js';

/**
 * Before `express.json({ inflate: false })`: a Content-Encoding naming identity alone (repeated,
 * which Node joins with commas, or with empty elements) is no coding, as ingest takes it
 * (isIdentityCoding). body-parser compares the header whole with 'identity', so the list was 415
 * on the trigger API and sign-in while ingest took the same body; any other coding still is.
 */
export function identityCodingAsNone(req: Request, _res: Response, next: NextFunction): void {
  const coding = req.headers['content-encoding'];
  if (coding !== undefined && isIdentityCoding(coding)) delete req.headers['content-encoding'];
  next();
}
