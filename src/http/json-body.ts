import express, { type RequestHandler } from 'express';
import { unsupportedMediaType } from '../domain/app-error.ts';

/**
 * The body reader of the small JSON endpoints (PUT /la/v1/organisation, POST /la/v1/notifications/ack).
 * A body sent as anything but application/json (or with no Content-Type) is refused with 415 before a
 * byte of it is read, as an upload in a form the service does not take is: read as JSON regardless, a
 * mislabelled body was answered 400 by one endpoint and accepted by the other. An empty body counts
 * (Content-Length: 0 is a body of no bytes); only a request with neither Content-Length nor
 * Transfer-Encoding has none, and goes on for the endpoint's schema to refuse.
 */
export function jsonBody(limitBytes: number): RequestHandler[] {
  const refuseOtherTypes: RequestHandler = (req, _res, next) => {
    if (req.is('application/json') === false) throw unsupportedMediaType('Content-Type must be application/json');
    next();
  };
  return [refuseOtherTypes, express.json({ limit: limitBytes, type: 'application/json' })];
}
