import type { Request } from 'express';
import { IDENTIFIER_SYSTEM } from './code-systems.ts';
import type { LookupRequest } from '../../app/lookup-child.ts';

const REQUIRED = `patient:identifier=${IDENTIFIER_SYSTEM.nhsNumber}|<NHS number> (or patient=<NHS number>) is required`;

/** Reads the one patient a search is about from `patient:identifier` or `patient`; the NHS number itself is checked later. */
export function patientOf(query: Request['query']): LookupRequest['patient'] {
  const identifier = query['patient:identifier'];
  const reference = query['patient'];
  const given = [identifier, reference].filter((v) => v !== undefined);
  if (given.length === 0) return { ok: false, diagnostics: REQUIRED };
  if (given.length > 1 || Array.isArray(given[0]) || typeof given[0] !== 'string')
    return { ok: false, diagnostics: 'search one patient at a time: give patient:identifier or patient once' };
  const value = given[0];
  if (identifier !== undefined) {
    const bar = value.indexOf('|');
    if (bar < 0) return { ok: true, value };
    if (value.slice(0, bar) !== IDENTIFIER_SYSTEM.nhsNumber)
      return { ok: false, diagnostics: `patient:identifier system must be ${IDENTIFIER_SYSTEM.nhsNumber}` };
    return { ok: true, value: value.slice(bar + 1) };
  }
  return { ok: true, value: value.replace(/^Patient\//, '') };
}
