import type { Express, Request, Response } from 'express';
import { optionsFor, type Surface } from './surface-methods.js';

/** OPTIONS names every method a core path serves (each router alone would name only its own). */
export function answerOptions(app: Express, surface: Surface): void {
  for (const [path, allow] of optionsFor(surface)) {
    app.options(path, (_req: Request, res: Response) => {
      res.setHeader('Allow', allow);
      res.status(204).end();
    });
  }
}
