import type { RequestHandler, Response } from 'express';
import { notAcceptable } from '../../domain/app-error.ts';

// What this server can answer: FHIR R4 JSON, under either media type (https://hl7.org/fhir/R4/http.html#mime-type).
const OFFERS = ['application/fhir+json; fhirVersion=4.0', 'application/json; fhirVersion=4.0'];
const JSON_FORMATS = new Set(['json', 'application/json', 'application/fhir+json']);
const CHOSEN = 'fhirMediaType';

type MediaType = 'application/fhir+json' | 'application/json';

/**
 * Content negotiation for the FHIR API: `_format` first, then `Accept` (https://hl7.org/fhir/R4/http.html#parameters).
 * A client that accepts only XML, or only another FHIR version (the `fhirVersion` parameter), gets 406;
 * one that asks for `application/json` is answered as `application/json`.
 */
export const negotiate: RequestHandler = (req, res, next) => {
  const format = req.query._format;
  let chosen: MediaType;
  if (format !== undefined) {
    const value = (Array.isArray(format) ? format[0] : format) as string;
    const [type = '', ...params] = String(value).split(';').map((p) => p.trim().toLowerCase());
    const version = params.find((p) => p.startsWith('fhirversion='));
    if (!JSON_FORMATS.has(type) || (version && !/^fhirversion=4\.0(\.\d+)?$/.test(version)))
      throw notAcceptable('_format: this server answers FHIR R4 in JSON only (json, application/fhir+json or application/json)');
    chosen = type === 'application/json' ? 'application/json' : 'application/fhir+json';
  } else {
    const best = req.accepts(OFFERS);
    if (!best) throw notAcceptable('Accept: this server answers FHIR R4 (fhirVersion 4.0) as application/fhir+json or application/json');
    chosen = best.startsWith('application/json') ? 'application/json' : 'application/fhir+json';
  }
  res.locals[CHOSEN] = chosen;
  next();
};

/** Sends a FHIR resource in the media type negotiated. */
export function sendFhir(res: Response, resource: unknown): void {
  const type = (res.locals[CHOSEN] as MediaType | undefined) ?? 'application/fhir+json';
  res.type(`${type}; charset=utf-8`).send(JSON.stringify(resource));
}
