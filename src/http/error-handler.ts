import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { Logger } from 'pino';
import { AppError, invalidRequest, notFound, payloadTooLarge, unsupportedMediaType, type ErrorTranslator } from '../domain/app-error.ts';
import { toOperationOutcome } from './operation-outcome.ts';
import { errorForLog } from '../logger.ts';

const FHIR_JSON = 'application/fhir+json; charset=utf-8';

/** Errors raised by body-parser and friends, by their type. */
function fromLibraryError(error: { type?: string; status?: number; expose?: boolean }): AppError | undefined {
  if (error.type === 'entity.parse.failed') return invalidRequest('body is not valid JSON', 'structure');
  if (error.type === 'entity.too.large') return payloadTooLarge('body is too large');
  if (error.type === 'encoding.unsupported' || error.type === 'charset.unsupported') return unsupportedMediaType('unsupported body encoding');
  if (error.type === 'request.aborted') return invalidRequest('request was aborted');
  // Any other body the library refused as the client's fault, such as one that fails to decompress.
  if (error.status === 400 && error.expose === true) return invalidRequest('request body could not be read', 'structure');
  return undefined;
}

/** AppErrors as they are; a client that gave up, an outage the translator knows, or a library's refusal as what the caller should be told. */
function knownError(error: unknown, abandoned: boolean, translate: ErrorTranslator): AppError | undefined {
  if (error instanceof AppError) return error;
  if (abandoned) return invalidRequest('request was aborted');
  return translate(error) ?? fromLibraryError(error as object);
}

/**
 * The one error middleware: AppErrors become OperationOutcomes, an unreachable database a 503 with
 * Retry-After (the translator's), anything else a 500 with no internals.
 */
export function createErrorHandler(logger: Logger, translate: ErrorTranslator = () => undefined): ErrorRequestHandler {
  return (error, req, res, _next) => {
    // A client that went away, or was cut off by the request timeout, part-way through its body is not
    // a fault of ours (whatever error the body reader then raised), and no one is left to answer.
    const abandoned = req.readableAborted || (req.destroyed && !req.complete);
    const appError = knownError(error, abandoned, translate);
    const known = appError ?? new AppError(500, 'FAILURE_TO_PROCESS_MESSAGE', 'exception', 'internal error; quote the request id to the service operator');
    if (!appError) {
      logger.error({ reqId: req.requestId, err: errorForLog(error) }, 'unhandled error');
    }
    if (res.headersSent) {
      res.destroy();
      return;
    }
    res.status(known.status).set(known.headers).type(FHIR_JSON).send(JSON.stringify(toOperationOutcome(known)));
  };
}

/** Unknown path: 404 RESOURCE_NOT_FOUND. The path is not repeated: a mistyped URL can hold an NHS number. */
export const notFoundHandler: RequestHandler = (req) => {
  throw notFound(`no route for this ${req.method} path; see the CapabilityStatement (/cpis/FHIR/R4/metadata) or the README's API section`);
};
