/**
 * The error codes of the contract (README, API: errors). All but one are codes of NHS England's
 * Spine-ErrorOrWarningCode code system (https://fhir.nhs.uk/R4/CodeSystem/Spine-ErrorOrWarningCode, as the
 * PDS FHIR API sends it), with that code system's display text; its concept list is the one UK Core
 * republishes as UKCore-SpineErrorOrWarningCode (NHSDigital/FHIR-R4-UKCORE-STAGING-MAIN,
 * codesystems/CodeSystem-UKCore-SpineErrorOrWarningCode.xml). It has no code for a rate limit, so
 * TOO_MANY_REQUESTS is the service's own (CPIS_ERROR_SYSTEM), under its own system.
 */
export const SPINE_CODES = {
  INVALID_SEARCH_DATA: 'Invalid search data',
  PRECONDITION_FAILED: 'Precondition failed',
  /** The code system's default, "when no others are applicable": a body or batch the service cannot take. */
  VALIDATION_ERROR: 'Validation error',
  /** 401 and 403 alike, as in the code system; the HTTP status and the issue code (login, forbidden) tell them apart. */
  ACCESS_DENIED: 'Access has been denied to process this request',
  RESOURCE_NOT_FOUND: 'Resource not found',
  UNSUPPORTED_SERVICE: 'Unsupported service',
  /** A batch older than the register it would replace: a sequence number below the last accepted. */
  RESOURCE_VERSION_MISMATCH: 'Resource version mismatch',
  FAILURE_TO_PROCESS_MESSAGE: 'Failure to process message',
  /** The database or PDS did not answer: come back (Retry-After). */
  UNABLE_TO_CALL_SERVICE: 'Unable to call service',
} as const;

/** Codes the Spine code system lacks, under the service's own system. */
export const CPIS_ERROR_CODES = {
  TOO_MANY_REQUESTS: 'Too many requests',
} as const;

export const CPIS_ERROR_SYSTEM = 'https://fhir.cpis.example/CodeSystem/error-code';

export type SpineCode = keyof typeof SPINE_CODES | keyof typeof CPIS_ERROR_CODES;

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
  new AppError(400, 'VALIDATION_ERROR', issueCode, issues);
export const invalidSearchData = (diagnostics: string, expression: string) =>
  new AppError(400, 'INVALID_SEARCH_DATA', 'invalid', [{ diagnostics, expression: [expression] }]);
export const preconditionFailed = (diagnostics: string, header: string) =>
  new AppError(400, 'PRECONDITION_FAILED', 'required', [{ diagnostics, expression: [header] }]);
export const unauthorised = (diagnostics: string) =>
  new AppError(401, 'ACCESS_DENIED', 'login', diagnostics, { 'WWW-Authenticate': 'Bearer' });
export const accessDenied = (diagnostics: string) => new AppError(403, 'ACCESS_DENIED', 'forbidden', diagnostics);
export const notFound = (diagnostics: string) => new AppError(404, 'RESOURCE_NOT_FOUND', 'not-found', diagnostics);
/** A known path asked with a method it does not take; `allow` lists those it takes. */
export const methodNotAllowed = (method: string, allow: readonly string[]) =>
  new AppError(405, 'UNSUPPORTED_SERVICE', 'not-supported', `${method} is not supported on this path; it takes ${allow.join(', ') || 'no method'}`, { Allow: allow.join(', ') });
/** The client accepts no representation this server can give. */
export const notAcceptable = (diagnostics: string) => new AppError(406, 'UNSUPPORTED_SERVICE', 'not-supported', diagnostics);
export const duplicateRejected = (diagnostics: string) => new AppError(409, 'RESOURCE_VERSION_MISMATCH', 'duplicate', diagnostics);
/** A request that is well formed but that the state of the caller's records does not yet allow (409). */
export const businessRuleFailed = (diagnostics: string) => new AppError(409, 'PRECONDITION_FAILED', 'business-rule', diagnostics);
export const payloadTooLarge = (diagnostics: string) => new AppError(413, 'VALIDATION_ERROR', 'too-costly', diagnostics);
export const unsupportedMediaType = (diagnostics: string) => new AppError(415, 'VALIDATION_ERROR', 'not-supported', diagnostics);
export const tooManyRequests = (retryAfterSeconds: number) =>
  new AppError(429, 'TOO_MANY_REQUESTS', 'throttled', 'rate limit exceeded', { 'Retry-After': String(retryAfterSeconds) });
export const serviceUnavailable = (diagnostics: string, retryAfterSeconds?: number) =>
  new AppError(503, 'UNABLE_TO_CALL_SERVICE', 'transient', diagnostics, retryAfterSeconds === undefined ? {} : { 'Retry-After': String(retryAfterSeconds) });

/** Turns an error from the outside world (an adapter's) into the AppError a caller should see, or undefined if it is a plain fault. */
export type ErrorTranslator = (error: unknown) => AppError | undefined;
