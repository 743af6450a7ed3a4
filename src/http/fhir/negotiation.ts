import express, { type RequestHandler, type Response } from 'express';
import { notAcceptable, unsupportedMediaType } from '../../domain/app-error.ts';

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

const BODY_TYPES = ['application/fhir+json', 'application/json'];

/**
 * The body reader of a FHIR create: FHIR R4 JSON under either media type, with no `fhirVersion` but 4.0
 * (https://hl7.org/fhir/R4/http.html#version-parameter); any other Content-Type, or none, is refused with
 * 415 before a byte is read. A request with no body at all goes on, for the resource's schema to refuse.
 */
export function fhirJsonBody(limitBytes: number): RequestHandler[] {
  const refuseOtherTypes: RequestHandler = (req, _res, next) => {
    if (req.is(BODY_TYPES) === false) throw unsupportedMediaType('Content-Type must be application/fhir+json or application/json');
    const version = /;\s*fhirversion\s*=\s*"?([^";\s]*)/i.exec(req.get('content-type') ?? '')?.[1];
    if (version !== undefined && !/^4\.0(\.\d+)?$/.test(version)) throw unsupportedMediaType('Content-Type: this server takes FHIR R4 (fhirVersion 4.0) only');
    next();
  };
  return [refuseOtherTypes, express.json({ limit: limitBytes, type: BODY_TYPES })];
}

/** What a create answers with (https://hl7.org/fhir/R4/http.html#ins-return): the resource unless `Prefer: return=` says otherwise. */
export type ReturnPreference = 'minimal' | 'representation' | 'OperationOutcome';

/** `Prefer: return=minimal | representation | OperationOutcome`; absent or anything else, representation. */
export function returnPreferenceOf(prefer: string | undefined): ReturnPreference {
  for (const part of (prefer ?? '').split(/[;,]/)) {
    const [name, value] = part.split('=').map((p) => p.trim().replace(/^"|"$/g, '').toLowerCase());
    if (name !== 'return') continue;
    if (value === 'minimal') return 'minimal';
    if (value === 'operationoutcome') return 'OperationOutcome';
    if (value === 'representation') return 'representation';
  }
  return 'representation';
}
