/**
 * Codes of NHS England's Spine-ErrorOrWarningCode code system that the contract uses (README, API:
 * errors), with the code system's display text (https://fhir.nhs.uk/R4/CodeSystem/Spine-ErrorOrWarningCode,
 * as the PDS FHIR API sends it; the concept list is published by NHS England on Simplifier).
 */
export const SPINE_CODES = {
  INVALID_SEARCH_DATA: 'Invalid search data',
  PRECONDITION_FAILED: 'Precondition failed',
  INVALID_REQUEST: 'Invalid request',
  UNAUTHORISED: 'Unauthorised',
  ACCESS_DENIED: 'Access has been denied to process this request',
  RESOURCE_NOT_FOUND: 'Resource not found',
  UNSUPPORTED_SERVICE: 'Unsupported service',
  DUPLICATE_REJECTED: 'Create would lead to creation of a duplicate resource',
  TOO_MANY_REQUESTS: 'Too many requests',
  FAILURE_TO_PROCESS_MESSAGE: 'Failure to process message',
  SERVICE_UNAVAILABLE: 'Service unavailable',
} as const;

export type SpineCode = keyof typeof SPINE_CODES;

/** FHIR R4 IssueType codes the service uses. */
export type IssueCode =
  | 'invalid' | 'required' | 'structure' | 'value' | 'login' | 'forbidden' | 'not-found'
  | 'duplicate' | 'throttled' | 'too-costly' | 'not-supported' | 'exception' | 'transient' | 'conflict' | 'business-rule';

export type Issue = { diagnostics: string; expression?: string[] };

/** The one error type: status, Spine code and FHIR issue code; its text never holds patient data. */
export class AppError extends Error {
  readonly status: number;
  readonly spineCode: SpineCode;
  readonly issueCode: IssueCode;
  readonly issues: readonly Issue[];
  readonly headers: Readonly<Record<string, string>>;

  constructor(status: number, spineCode: SpineCode, issueCode: IssueCode, issues: Issue[] | string, headers: Record<string, string> = {}) {
    const list = typeof issues === 'string' ? [{ diagnostics: issues }] : issues;
    super(list.map((i) => i.diagnostics).join('; '));
    this.name = 'AppError';
    this.status = status;
    this.spineCode = spineCode;
    this.issueCode = issueCode;
    this.issues = list;
    this.headers = headers;
  }
}

export const invalidRequest = (issues: Issue[] | string, issueCode: IssueCode = 'invalid') =>
  new AppError(400, 'INVALID_REQUEST', issueCode, issues);
export const invalidSearchData = (diagnostics: string, expression: string) =>
  new AppError(400, 'INVALID_SEARCH_DATA', 'invalid', [{ diagnostics, expression: [expression] }]);
export const preconditionFailed = (diagnostics: string, header: string) =>
  new AppError(400, 'PRECONDITION_FAILED', 'required', [{ diagnostics, expression: [header] }]);
export const unauthorised = (diagnostics: string) =>
  new AppError(401, 'UNAUTHORISED', 'login', diagnostics, { 'WWW-Authenticate': 'Bearer' });
export const accessDenied = (diagnostics: string) => new AppError(403, 'ACCESS_DENIED', 'forbidden', diagnostics);
export const notFound = (diagnostics: string) => new AppError(404, 'RESOURCE_NOT_FOUND', 'not-found', diagnostics);
/** A known path asked with a method it does not take; `allow` lists those it takes. */
export const methodNotAllowed = (method: string, allow: readonly string[]) =>
  new AppError(405, 'UNSUPPORTED_SERVICE', 'not-supported', `${method} is not supported on this path; it takes ${allow.join(', ') || 'no method'}`, { Allow: allow.join(', ') });
/** The client accepts no representation this server can give. */
export const notAcceptable = (diagnostics: string) => new AppError(406, 'UNSUPPORTED_SERVICE', 'not-supported', diagnostics);
export const duplicateRejected = (diagnostics: string) => new AppError(409, 'DUPLICATE_REJECTED', 'duplicate', diagnostics);
/** A request that is well formed but that the state of the caller's records does not yet allow (409). */
export const businessRuleFailed = (diagnostics: string) => new AppError(409, 'PRECONDITION_FAILED', 'business-rule', diagnostics);
export const payloadTooLarge = (diagnostics: string) => new AppError(413, 'INVALID_REQUEST', 'too-costly', diagnostics);
export const unsupportedMediaType = (diagnostics: string) => new AppError(415, 'INVALID_REQUEST', 'not-supported', diagnostics);
export const tooManyRequests = (retryAfterSeconds: number) =>
  new AppError(429, 'TOO_MANY_REQUESTS', 'throttled', 'rate limit exceeded', { 'Retry-After': String(retryAfterSeconds) });
export const serviceUnavailable = (diagnostics: string, retryAfterSeconds?: number) =>
  new AppError(503, 'SERVICE_UNAVAILABLE', 'transient', diagnostics, retryAfterSeconds === undefined ? {} : { 'Retry-After': String(retryAfterSeconds) });

/** Turns an error from the outside world (an adapter's) into the AppError a caller should see, or undefined if it is a plain fault. */
export type ErrorTranslator = (error: unknown) => AppError | undefined;
