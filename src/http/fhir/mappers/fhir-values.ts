// FHIR forbids empty strings and leading/trailing whitespace, and the R4 JSON Schema's string
// pattern rejects every Unicode space but the ASCII ones (https://hl7.org/fhir/R4/datatypes.html#string).
const ANY_WHITESPACE = /\s+/gu;
const FHIR_ID = /^[A-Za-z0-9\-.]{1,64}$/;

/** The value as a valid FHIR string (spaces normalised), or undefined when nothing is left. */
export function fhirText(value: string | null | undefined): string | undefined {
  const text = value?.replace(ANY_WHITESPACE, ' ').trim();
  return text ? text : undefined;
}

/** The value as a FHIR id; throws rather than emit a resource no client could address. */
export function fhirId(value: string): string {
  if (!FHIR_ID.test(value)) throw new Error(`Not a valid FHIR id: ${JSON.stringify(value)}`);
  return value;
}

/** An instant as FHIR wants it: full ISO 8601 in UTC (https://hl7.org/fhir/R4/datatypes.html#instant). */
export function fhirInstant(value: string | Date): string {
  const date = typeof value === 'string' ? new Date(value) : value;
  if (Number.isNaN(date.getTime())) throw new Error(`Not a valid instant: ${JSON.stringify(value)}`);
  return date.toISOString();
}
