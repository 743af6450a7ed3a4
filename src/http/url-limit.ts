import type { RequestHandler } from 'express';
import { AppError } from '../domain/app-error.ts';

/** 414: the URL is longer than the service accepts. */
export const urlTooLong = (maxLength: number) =>
  new AppError(414, 'VALIDATION_ERROR', 'too-costly', `request URL is longer than ${maxLength} characters`);

/** Refuses an over-long URL before any router parses its path or query. */
export function limitUrlLength(maxLength: number): RequestHandler {
  return (req, _res, next) => {
    if (req.originalUrl.length > maxLength) throw urlTooLong(maxLength);
    next();
  };
}
