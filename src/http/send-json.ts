import type { Response } from 'express';
import { toJson } from '../alerts/serialize-alert.js';

/** Sends JSON that may hold bigints, writing them as numbers with every digit. */
export function sendJson(res: Response, status: number, value: unknown): void {
  res.status(status).type('application/json').send(toJson(value));
}
