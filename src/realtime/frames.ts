import type { OperationOutcome } from 'fhir/r4.d.ts';
import { invalidRequest } from '../domain/app-error.ts';
import type { Notification } from '../domain/notification.ts';
import type { NotificationAck } from '../ports.ts';
import { toOperationOutcome } from '../http/operation-outcome.ts';
import { compileSchema, createAjv, schemaIssues } from '../schemas.ts';

export type ClientFrame = { type: 'ack'; eventNumber: number };

export type ServerFrame =
  | { type: 'notification'; notification: Notification }
  | { type: 'heartbeat'; lastEventNumber: number }
  | { type: 'acknowledged'; eventNumbers: number[] }
  | ({ type: 'acknowledgement' } & NotificationAck)
  | { type: 'error'; operationOutcome: OperationOutcome };

const validate = compileSchema<ClientFrame>(createAjv(), 'ws-client-frame.schema.json');

/** Parses and validates a client frame; a bad one becomes an error frame, never a closed socket. */
export function parseClientFrame(data: Buffer | string, isBinary: boolean): { ok: true; frame: ClientFrame } | { ok: false; reply: ServerFrame } {
  const fail = (issues: { diagnostics: string; expression?: string[] }[]) => ({ ok: false as const, reply: errorFrame(issues) });
  if (isBinary) return fail([{ diagnostics: 'frames must be JSON text' }]);
  let value: unknown;
  try {
    value = JSON.parse(data.toString());
  } catch {
    return fail([{ diagnostics: 'frame is not valid JSON' }]);
  }
  if (!validate(value)) return fail(schemaIssues(validate.errors, value, 'expected {"type":"ack","eventNumber":n}'));
  return { ok: true, frame: value };
}

export function errorFrame(issues: { diagnostics: string; expression?: string[] }[]): ServerFrame {
  return { type: 'error', operationOutcome: toOperationOutcome(invalidRequest(issues)) as OperationOutcome };
}
