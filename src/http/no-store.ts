import type { RequestHandler } from 'express';

/**
 * What every answer of the service says about caching. Answers name children and say who looked
 * them up; even an error says who asked for which NHS number. None may be kept by a browser, a proxy
 * or a shared cache (README, Privacy).
 */
export const NO_STORE = 'no-store';

/** Marks every answer not to be stored, before any route, error or future endpoint can forget it. */
export const noStore: RequestHandler = (_req, res, next) => {
  res.setHeader('Cache-Control', NO_STORE);
  next();
};
