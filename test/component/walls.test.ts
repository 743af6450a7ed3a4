import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { badChecksumNhsNumber, childRecord, e164Of, syntheticLaCode, syntheticPhone, yearsAgo } from '../support/synthetic.ts';
import { laToken, startTestService, uploadJson, type TestService } from '../support/service.ts';
import { clinicianToken, NHS_SYSTEM } from '../support/care-setting.ts';
import { fhirJsonPost, notBroughtReport } from '../support/not-brought.ts';
import { openStream, type StreamClient } from '../support/stream-client.ts';
import { remoteRouteTo, requestVia, type RemoteRoute } from '../support/network.ts';
import { registeredRoutes } from '../support/routes.ts';
import { STREAM_PATH } from '../../src/realtime/stream-server.ts';
import { londonDateOf } from '../../src/domain/dates.ts';

// Who may do what, endpoint by endpoint (README, Identity and the access rules of each API).
//
// Every row runs against two fresh LAs of its own: A (three children, looked up once each, so
// notifications 1 to 3) and B (one child, notification 1). `org` is the caller's relation to A:
//   own    the caller's token carries A's code;
//   other  the caller's token carries B's code, and the request goes for A's things (A's event
//          numbers, A's child, `org=<A>` in the query): it must only ever reach B's;
//   n/a    the endpoint is not an LA's. Clinicians then carry a care setting's code, ops its own,
//          and LA roles (on the FHIR API) A's code: the child's own LA, the likeliest to slip through.
// Clinicians and ops with `own`/`other` carry an LA's code in their token: the role still decides.
//
// What `data` promises beyond the status:
//   own LA only          the answer shows the caller's LA and nothing of the other LA; nothing of the other LA changes
//   changes own LA only  the caller's LA changes as asked (read back in PostgreSQL); nothing of the other LA changes
//   the child only       the clinician sees A's child and A, nothing of B; B does not change
//   no patient data      the answer names no child of either LA; neither LA changes
//   tells the child's LA the answer names A (the LA told) and nothing of B, and no name of a child; A gains one notification, B none
//   A's standing only    the answer names no child of either LA; A's standing with the operators (status,
//                        who, when, why) changes as asked, and nothing else of A or of B
const OWN = 'own LA only';
const WRITES_OWN = 'changes own LA only';
const CHILD = 'the child only';
const NONE = 'no patient data';
const TELLS = 'tells the child\'s LA';
const STANDING = 'A\'s standing only';
type Data = typeof OWN | typeof WRITES_OWN | typeof CHILD | typeof NONE | typeof TELLS | typeof STANDING;
type Role = 'none' | 'clinician' | 'la-system' | 'social-worker' | 'ops';
type Org = 'own' | 'other' | 'n/a';
type Wall = { endpoint: EndpointName; role: Role; org: Org; expect: { status: number; data: Data } };

const WALLS: Wall[] = [
  // Operations: open, and never patient data.
  { endpoint: 'GET /health/live', role: 'none', org: 'n/a', expect: { status: 200, data: NONE } },
  { endpoint: 'GET /health/live', role: 'clinician', org: 'n/a', expect: { status: 200, data: NONE } },
  { endpoint: 'GET /health/live', role: 'la-system', org: 'n/a', expect: { status: 200, data: NONE } },
  { endpoint: 'GET /health/live', role: 'social-worker', org: 'n/a', expect: { status: 200, data: NONE } },
  { endpoint: 'GET /health/live', role: 'ops', org: 'n/a', expect: { status: 200, data: NONE } },
  { endpoint: 'GET /health/ready', role: 'none', org: 'n/a', expect: { status: 200, data: NONE } },
  { endpoint: 'GET /health/ready', role: 'clinician', org: 'n/a', expect: { status: 200, data: NONE } },
  { endpoint: 'GET /health/ready', role: 'la-system', org: 'n/a', expect: { status: 200, data: NONE } },
  { endpoint: 'GET /health/ready', role: 'social-worker', org: 'n/a', expect: { status: 200, data: NONE } },
  { endpoint: 'GET /health/ready', role: 'ops', org: 'n/a', expect: { status: 200, data: NONE } },
  // Metrics: open on loopback (a local scraper), otherwise ops only.
  { endpoint: 'GET /metrics from loopback', role: 'none', org: 'n/a', expect: { status: 200, data: NONE } },
  { endpoint: 'GET /metrics from loopback', role: 'clinician', org: 'n/a', expect: { status: 200, data: NONE } },
  { endpoint: 'GET /metrics from loopback', role: 'la-system', org: 'n/a', expect: { status: 200, data: NONE } },
  { endpoint: 'GET /metrics from loopback', role: 'social-worker', org: 'n/a', expect: { status: 200, data: NONE } },
  { endpoint: 'GET /metrics from loopback', role: 'ops', org: 'n/a', expect: { status: 200, data: NONE } },
  { endpoint: 'GET /metrics from another host', role: 'none', org: 'n/a', expect: { status: 401, data: NONE } },
  { endpoint: 'GET /metrics from another host', role: 'clinician', org: 'n/a', expect: { status: 403, data: NONE } },
  { endpoint: 'GET /metrics from another host', role: 'la-system', org: 'n/a', expect: { status: 403, data: NONE } },
  { endpoint: 'GET /metrics from another host', role: 'social-worker', org: 'n/a', expect: { status: 403, data: NONE } },
  { endpoint: 'GET /metrics from another host', role: 'ops', org: 'n/a', expect: { status: 200, data: NONE } },
  // The operators' API: the LA registry, ops only. An LA system (carrying A's code) cannot read or change even its own LA's standing.
  { endpoint: 'GET /ops/v1/las', role: 'none', org: 'n/a', expect: { status: 401, data: NONE } },
  { endpoint: 'GET /ops/v1/las', role: 'clinician', org: 'n/a', expect: { status: 403, data: NONE } },
  { endpoint: 'GET /ops/v1/las', role: 'la-system', org: 'n/a', expect: { status: 403, data: NONE } },
  { endpoint: 'GET /ops/v1/las', role: 'social-worker', org: 'n/a', expect: { status: 403, data: NONE } },
  { endpoint: 'GET /ops/v1/las', role: 'ops', org: 'n/a', expect: { status: 200, data: NONE } },
  { endpoint: 'POST /ops/v1/las', role: 'none', org: 'n/a', expect: { status: 401, data: NONE } },
  { endpoint: 'POST /ops/v1/las', role: 'clinician', org: 'n/a', expect: { status: 403, data: NONE } },
  { endpoint: 'POST /ops/v1/las', role: 'la-system', org: 'n/a', expect: { status: 403, data: NONE } },
  { endpoint: 'POST /ops/v1/las', role: 'social-worker', org: 'n/a', expect: { status: 403, data: NONE } },
  { endpoint: 'POST /ops/v1/las', role: 'ops', org: 'n/a', expect: { status: 201, data: NONE } },
  { endpoint: 'GET /ops/v1/las/{code}', role: 'none', org: 'n/a', expect: { status: 401, data: NONE } },
  { endpoint: 'GET /ops/v1/las/{code}', role: 'clinician', org: 'n/a', expect: { status: 403, data: NONE } },
  { endpoint: 'GET /ops/v1/las/{code}', role: 'la-system', org: 'n/a', expect: { status: 403, data: NONE } },
  { endpoint: 'GET /ops/v1/las/{code}', role: 'social-worker', org: 'n/a', expect: { status: 403, data: NONE } },
  { endpoint: 'GET /ops/v1/las/{code}', role: 'ops', org: 'n/a', expect: { status: 200, data: NONE } },
  { endpoint: 'POST /ops/v1/las/{code}/suspend', role: 'none', org: 'n/a', expect: { status: 401, data: NONE } },
  { endpoint: 'POST /ops/v1/las/{code}/suspend', role: 'clinician', org: 'n/a', expect: { status: 403, data: NONE } },
  { endpoint: 'POST /ops/v1/las/{code}/suspend', role: 'la-system', org: 'n/a', expect: { status: 403, data: NONE } },
  { endpoint: 'POST /ops/v1/las/{code}/suspend', role: 'social-worker', org: 'n/a', expect: { status: 403, data: NONE } },
  { endpoint: 'POST /ops/v1/las/{code}/suspend', role: 'ops', org: 'n/a', expect: { status: 200, data: STANDING } },
  { endpoint: 'POST /ops/v1/las/{code}/reinstate', role: 'none', org: 'n/a', expect: { status: 401, data: NONE } },
  { endpoint: 'POST /ops/v1/las/{code}/reinstate', role: 'clinician', org: 'n/a', expect: { status: 403, data: NONE } },
  { endpoint: 'POST /ops/v1/las/{code}/reinstate', role: 'la-system', org: 'n/a', expect: { status: 403, data: NONE } },
  { endpoint: 'POST /ops/v1/las/{code}/reinstate', role: 'social-worker', org: 'n/a', expect: { status: 403, data: NONE } },
  { endpoint: 'POST /ops/v1/las/{code}/reinstate', role: 'ops', org: 'n/a', expect: { status: 200, data: STANDING } },
  // The duty console's page and session mode are open; the demo sign-in exists only in AUTH_MODE=dev.
  { endpoint: 'GET /console/ (static files)', role: 'none', org: 'n/a', expect: { status: 200, data: NONE } },
  { endpoint: 'GET /console/ (static files)', role: 'clinician', org: 'n/a', expect: { status: 200, data: NONE } },
  { endpoint: 'GET /console/ (static files)', role: 'la-system', org: 'n/a', expect: { status: 200, data: NONE } },
  { endpoint: 'GET /console/ (static files)', role: 'social-worker', org: 'n/a', expect: { status: 200, data: NONE } },
  { endpoint: 'GET /console/ (static files)', role: 'ops', org: 'n/a', expect: { status: 200, data: NONE } },
  { endpoint: 'GET /console/session', role: 'none', org: 'n/a', expect: { status: 200, data: NONE } },
  { endpoint: 'GET /console/session', role: 'clinician', org: 'n/a', expect: { status: 200, data: NONE } },
  { endpoint: 'GET /console/session', role: 'la-system', org: 'n/a', expect: { status: 200, data: NONE } },
  { endpoint: 'GET /console/session', role: 'social-worker', org: 'n/a', expect: { status: 200, data: NONE } },
  { endpoint: 'GET /console/session', role: 'ops', org: 'n/a', expect: { status: 200, data: NONE } },
  { endpoint: 'POST /console/dev-sign-in', role: 'none', org: 'n/a', expect: { status: 201, data: NONE } },
  { endpoint: 'POST /console/dev-sign-in', role: 'clinician', org: 'n/a', expect: { status: 201, data: NONE } },
  { endpoint: 'POST /console/dev-sign-in', role: 'la-system', org: 'n/a', expect: { status: 201, data: NONE } },
  { endpoint: 'POST /console/dev-sign-in', role: 'social-worker', org: 'n/a', expect: { status: 201, data: NONE } },
  { endpoint: 'POST /console/dev-sign-in', role: 'ops', org: 'n/a', expect: { status: 201, data: NONE } },
  // FHIR: the CapabilityStatement is open; only clinicians search (LA roles and ops get 403, and nothing is recorded as an access).
  { endpoint: 'GET /cpis/FHIR/R4/metadata', role: 'none', org: 'n/a', expect: { status: 200, data: NONE } },
  { endpoint: 'GET /cpis/FHIR/R4/metadata', role: 'clinician', org: 'n/a', expect: { status: 200, data: NONE } },
  { endpoint: 'GET /cpis/FHIR/R4/metadata', role: 'la-system', org: 'n/a', expect: { status: 200, data: NONE } },
  { endpoint: 'GET /cpis/FHIR/R4/metadata', role: 'social-worker', org: 'n/a', expect: { status: 200, data: NONE } },
  { endpoint: 'GET /cpis/FHIR/R4/metadata', role: 'ops', org: 'n/a', expect: { status: 200, data: NONE } },
  { endpoint: 'GET /cpis/FHIR/R4/CareTeam', role: 'none', org: 'n/a', expect: { status: 401, data: NONE } },
  { endpoint: 'GET /cpis/FHIR/R4/CareTeam', role: 'clinician', org: 'n/a', expect: { status: 200, data: CHILD } },
  { endpoint: 'GET /cpis/FHIR/R4/CareTeam', role: 'la-system', org: 'n/a', expect: { status: 403, data: NONE } },
  { endpoint: 'GET /cpis/FHIR/R4/CareTeam', role: 'social-worker', org: 'n/a', expect: { status: 403, data: NONE } },
  { endpoint: 'GET /cpis/FHIR/R4/CareTeam', role: 'ops', org: 'n/a', expect: { status: 403, data: NONE } },
  { endpoint: 'POST /cpis/FHIR/R4/CareTeam/_search', role: 'none', org: 'n/a', expect: { status: 401, data: NONE } },
  { endpoint: 'POST /cpis/FHIR/R4/CareTeam/_search', role: 'clinician', org: 'n/a', expect: { status: 200, data: CHILD } },
  { endpoint: 'POST /cpis/FHIR/R4/CareTeam/_search', role: 'la-system', org: 'n/a', expect: { status: 403, data: NONE } },
  { endpoint: 'POST /cpis/FHIR/R4/CareTeam/_search', role: 'social-worker', org: 'n/a', expect: { status: 403, data: NONE } },
  { endpoint: 'POST /cpis/FHIR/R4/CareTeam/_search', role: 'ops', org: 'n/a', expect: { status: 403, data: NONE } },
  { endpoint: 'GET /cpis/FHIR/R4/Flag', role: 'none', org: 'n/a', expect: { status: 401, data: NONE } },
  { endpoint: 'GET /cpis/FHIR/R4/Flag', role: 'clinician', org: 'n/a', expect: { status: 200, data: CHILD } },
  { endpoint: 'GET /cpis/FHIR/R4/Flag', role: 'la-system', org: 'n/a', expect: { status: 403, data: NONE } },
  { endpoint: 'GET /cpis/FHIR/R4/Flag', role: 'social-worker', org: 'n/a', expect: { status: 403, data: NONE } },
  { endpoint: 'GET /cpis/FHIR/R4/Flag', role: 'ops', org: 'n/a', expect: { status: 403, data: NONE } },
  { endpoint: 'POST /cpis/FHIR/R4/Flag/_search', role: 'none', org: 'n/a', expect: { status: 401, data: NONE } },
  { endpoint: 'POST /cpis/FHIR/R4/Flag/_search', role: 'clinician', org: 'n/a', expect: { status: 200, data: CHILD } },
  { endpoint: 'POST /cpis/FHIR/R4/Flag/_search', role: 'la-system', org: 'n/a', expect: { status: 403, data: NONE } },
  { endpoint: 'POST /cpis/FHIR/R4/Flag/_search', role: 'social-worker', org: 'n/a', expect: { status: 403, data: NONE } },
  { endpoint: 'POST /cpis/FHIR/R4/Flag/_search', role: 'ops', org: 'n/a', expect: { status: 403, data: NONE } },
  { endpoint: 'GET /cpis/FHIR/R4/AuditEvent', role: 'none', org: 'n/a', expect: { status: 401, data: NONE } },
  { endpoint: 'GET /cpis/FHIR/R4/AuditEvent', role: 'clinician', org: 'n/a', expect: { status: 200, data: CHILD } },
  { endpoint: 'GET /cpis/FHIR/R4/AuditEvent', role: 'la-system', org: 'n/a', expect: { status: 403, data: NONE } },
  { endpoint: 'GET /cpis/FHIR/R4/AuditEvent', role: 'social-worker', org: 'n/a', expect: { status: 403, data: NONE } },
  { endpoint: 'GET /cpis/FHIR/R4/AuditEvent', role: 'ops', org: 'n/a', expect: { status: 403, data: NONE } },
  { endpoint: 'POST /cpis/FHIR/R4/AuditEvent/_search', role: 'none', org: 'n/a', expect: { status: 401, data: NONE } },
  { endpoint: 'POST /cpis/FHIR/R4/AuditEvent/_search', role: 'clinician', org: 'n/a', expect: { status: 200, data: CHILD } },
  { endpoint: 'POST /cpis/FHIR/R4/AuditEvent/_search', role: 'la-system', org: 'n/a', expect: { status: 403, data: NONE } },
  { endpoint: 'POST /cpis/FHIR/R4/AuditEvent/_search', role: 'social-worker', org: 'n/a', expect: { status: 403, data: NONE } },
  { endpoint: 'POST /cpis/FHIR/R4/AuditEvent/_search', role: 'ops', org: 'n/a', expect: { status: 403, data: NONE } },
  // A child not brought: clinicians only (B0107 here), telling the child's LA and no other; nothing recorded as an access.
  { endpoint: 'POST /cpis/FHIR/R4/Communication', role: 'none', org: 'n/a', expect: { status: 401, data: NONE } },
  { endpoint: 'POST /cpis/FHIR/R4/Communication', role: 'clinician', org: 'n/a', expect: { status: 201, data: TELLS } },
  { endpoint: 'POST /cpis/FHIR/R4/Communication', role: 'la-system', org: 'n/a', expect: { status: 403, data: NONE } },
  { endpoint: 'POST /cpis/FHIR/R4/Communication', role: 'social-worker', org: 'n/a', expect: { status: 403, data: NONE } },
  { endpoint: 'POST /cpis/FHIR/R4/Communication', role: 'ops', org: 'n/a', expect: { status: 403, data: NONE } },
  // README, Identity: every role but the one allowed gets 403, whatever the request's headers say.
  { endpoint: 'GET /cpis/FHIR/R4/CareTeam with a bad IsUnscheduledAccessEvent', role: 'none', org: 'n/a', expect: { status: 401, data: NONE } },
  { endpoint: 'GET /cpis/FHIR/R4/CareTeam with a bad IsUnscheduledAccessEvent', role: 'clinician', org: 'n/a', expect: { status: 400, data: NONE } },
  { endpoint: 'GET /cpis/FHIR/R4/CareTeam with a bad IsUnscheduledAccessEvent', role: 'la-system', org: 'n/a', expect: { status: 403, data: NONE } },
  { endpoint: 'GET /cpis/FHIR/R4/CareTeam with a bad IsUnscheduledAccessEvent', role: 'social-worker', org: 'n/a', expect: { status: 403, data: NONE } },
  { endpoint: 'GET /cpis/FHIR/R4/CareTeam with a bad IsUnscheduledAccessEvent', role: 'ops', org: 'n/a', expect: { status: 403, data: NONE } },
  // The LA API's contracts are open, and hold no patient data.
  { endpoint: 'GET /la/v1/openapi.json', role: 'none', org: 'n/a', expect: { status: 200, data: NONE } },
  { endpoint: 'GET /la/v1/openapi.json', role: 'clinician', org: 'n/a', expect: { status: 200, data: NONE } },
  { endpoint: 'GET /la/v1/openapi.json', role: 'la-system', org: 'n/a', expect: { status: 200, data: NONE } },
  { endpoint: 'GET /la/v1/openapi.json', role: 'social-worker', org: 'n/a', expect: { status: 200, data: NONE } },
  { endpoint: 'GET /la/v1/openapi.json', role: 'ops', org: 'n/a', expect: { status: 200, data: NONE } },
  { endpoint: 'GET /la/v1/asyncapi.json', role: 'none', org: 'n/a', expect: { status: 200, data: NONE } },
  { endpoint: 'GET /la/v1/asyncapi.json', role: 'clinician', org: 'n/a', expect: { status: 200, data: NONE } },
  { endpoint: 'GET /la/v1/asyncapi.json', role: 'la-system', org: 'n/a', expect: { status: 200, data: NONE } },
  { endpoint: 'GET /la/v1/asyncapi.json', role: 'social-worker', org: 'n/a', expect: { status: 200, data: NONE } },
  { endpoint: 'GET /la/v1/asyncapi.json', role: 'ops', org: 'n/a', expect: { status: 200, data: NONE } },
  // The LA's details: its system reads and changes them, its duty workers read them (the console's banner).
  { endpoint: 'GET /la/v1/organisation', role: 'none', org: 'n/a', expect: { status: 401, data: NONE } },
  { endpoint: 'GET /la/v1/organisation', role: 'clinician', org: 'own', expect: { status: 403, data: NONE } },
  { endpoint: 'GET /la/v1/organisation', role: 'clinician', org: 'other', expect: { status: 403, data: NONE } },
  { endpoint: 'GET /la/v1/organisation', role: 'la-system', org: 'own', expect: { status: 200, data: OWN } },
  { endpoint: 'GET /la/v1/organisation', role: 'la-system', org: 'other', expect: { status: 200, data: OWN } },
  { endpoint: 'GET /la/v1/organisation', role: 'social-worker', org: 'own', expect: { status: 200, data: OWN } },
  { endpoint: 'GET /la/v1/organisation', role: 'social-worker', org: 'other', expect: { status: 200, data: OWN } },
  { endpoint: 'GET /la/v1/organisation', role: 'ops', org: 'own', expect: { status: 403, data: NONE } },
  { endpoint: 'GET /la/v1/organisation', role: 'ops', org: 'other', expect: { status: 403, data: NONE } },
  { endpoint: 'PUT /la/v1/organisation', role: 'none', org: 'n/a', expect: { status: 401, data: NONE } },
  { endpoint: 'PUT /la/v1/organisation', role: 'clinician', org: 'own', expect: { status: 403, data: NONE } },
  { endpoint: 'PUT /la/v1/organisation', role: 'clinician', org: 'other', expect: { status: 403, data: NONE } },
  { endpoint: 'PUT /la/v1/organisation', role: 'la-system', org: 'own', expect: { status: 200, data: WRITES_OWN } },
  { endpoint: 'PUT /la/v1/organisation', role: 'la-system', org: 'other', expect: { status: 200, data: WRITES_OWN } },
  { endpoint: 'PUT /la/v1/organisation', role: 'social-worker', org: 'own', expect: { status: 403, data: NONE } },
  { endpoint: 'PUT /la/v1/organisation', role: 'social-worker', org: 'other', expect: { status: 403, data: NONE } },
  { endpoint: 'PUT /la/v1/organisation', role: 'ops', org: 'own', expect: { status: 403, data: NONE } },
  { endpoint: 'PUT /la/v1/organisation', role: 'ops', org: 'other', expect: { status: 403, data: NONE } },
  // Publishing and the reconciliation extract: the LA system only. B sending A's child makes a plan of B's.
  { endpoint: 'POST /la/v1/uploads', role: 'none', org: 'n/a', expect: { status: 401, data: NONE } },
  { endpoint: 'POST /la/v1/uploads', role: 'clinician', org: 'own', expect: { status: 403, data: NONE } },
  { endpoint: 'POST /la/v1/uploads', role: 'clinician', org: 'other', expect: { status: 403, data: NONE } },
  { endpoint: 'POST /la/v1/uploads', role: 'la-system', org: 'own', expect: { status: 201, data: WRITES_OWN } },
  { endpoint: 'POST /la/v1/uploads', role: 'la-system', org: 'other', expect: { status: 201, data: WRITES_OWN } },
  { endpoint: 'POST /la/v1/uploads', role: 'social-worker', org: 'own', expect: { status: 403, data: NONE } },
  { endpoint: 'POST /la/v1/uploads', role: 'social-worker', org: 'other', expect: { status: 403, data: NONE } },
  { endpoint: 'POST /la/v1/uploads', role: 'ops', org: 'own', expect: { status: 403, data: NONE } },
  { endpoint: 'POST /la/v1/uploads', role: 'ops', org: 'other', expect: { status: 403, data: NONE } },
  // A batch's refused records: its LA system only; another LA's batch is as unknown as none.
  { endpoint: 'GET /la/v1/uploads/{uploadId}/refusals', role: 'none', org: 'n/a', expect: { status: 401, data: NONE } },
  { endpoint: 'GET /la/v1/uploads/{uploadId}/refusals', role: 'clinician', org: 'own', expect: { status: 403, data: NONE } },
  { endpoint: 'GET /la/v1/uploads/{uploadId}/refusals', role: 'clinician', org: 'other', expect: { status: 403, data: NONE } },
  { endpoint: 'GET /la/v1/uploads/{uploadId}/refusals', role: 'la-system', org: 'own', expect: { status: 200, data: OWN } },
  { endpoint: 'GET /la/v1/uploads/{uploadId}/refusals', role: 'la-system', org: 'other', expect: { status: 404, data: NONE } },
  { endpoint: 'GET /la/v1/uploads/{uploadId}/refusals', role: 'social-worker', org: 'own', expect: { status: 403, data: NONE } },
  { endpoint: 'GET /la/v1/uploads/{uploadId}/refusals', role: 'social-worker', org: 'other', expect: { status: 403, data: NONE } },
  { endpoint: 'GET /la/v1/uploads/{uploadId}/refusals', role: 'ops', org: 'own', expect: { status: 403, data: NONE } },
  { endpoint: 'GET /la/v1/uploads/{uploadId}/refusals', role: 'ops', org: 'other', expect: { status: 403, data: NONE } },
  // A dry run: the LA system only, and it changes nothing of either LA.
  { endpoint: 'POST /la/v1/uploads?dryRun=true', role: 'none', org: 'n/a', expect: { status: 401, data: NONE } },
  { endpoint: 'POST /la/v1/uploads?dryRun=true', role: 'clinician', org: 'own', expect: { status: 403, data: NONE } },
  { endpoint: 'POST /la/v1/uploads?dryRun=true', role: 'clinician', org: 'other', expect: { status: 403, data: NONE } },
  { endpoint: 'POST /la/v1/uploads?dryRun=true', role: 'la-system', org: 'own', expect: { status: 200, data: NONE } },
  { endpoint: 'POST /la/v1/uploads?dryRun=true', role: 'la-system', org: 'other', expect: { status: 200, data: NONE } },
  { endpoint: 'POST /la/v1/uploads?dryRun=true', role: 'social-worker', org: 'own', expect: { status: 403, data: NONE } },
  { endpoint: 'POST /la/v1/uploads?dryRun=true', role: 'social-worker', org: 'other', expect: { status: 403, data: NONE } },
  { endpoint: 'POST /la/v1/uploads?dryRun=true', role: 'ops', org: 'own', expect: { status: 403, data: NONE } },
  { endpoint: 'POST /la/v1/uploads?dryRun=true', role: 'ops', org: 'other', expect: { status: 403, data: NONE } },
  // The refusals worklist: the LA's own data about its own records, for its system.
  { endpoint: 'GET /la/v1/refusals', role: 'none', org: 'n/a', expect: { status: 401, data: NONE } },
  { endpoint: 'GET /la/v1/refusals', role: 'clinician', org: 'own', expect: { status: 403, data: NONE } },
  { endpoint: 'GET /la/v1/refusals', role: 'clinician', org: 'other', expect: { status: 403, data: NONE } },
  { endpoint: 'GET /la/v1/refusals', role: 'la-system', org: 'own', expect: { status: 200, data: OWN } },
  { endpoint: 'GET /la/v1/refusals', role: 'la-system', org: 'other', expect: { status: 200, data: OWN } },
  { endpoint: 'GET /la/v1/refusals', role: 'social-worker', org: 'own', expect: { status: 403, data: NONE } },
  { endpoint: 'GET /la/v1/refusals', role: 'social-worker', org: 'other', expect: { status: 403, data: NONE } },
  { endpoint: 'GET /la/v1/refusals', role: 'ops', org: 'own', expect: { status: 403, data: NONE } },
  { endpoint: 'GET /la/v1/refusals', role: 'ops', org: 'other', expect: { status: 403, data: NONE } },
  // Usage reports: each LA its own (system and duty workers); operators every LA, with no patient data.
  { endpoint: 'GET /la/v1/reports/usage', role: 'none', org: 'n/a', expect: { status: 401, data: NONE } },
  { endpoint: 'GET /la/v1/reports/usage', role: 'clinician', org: 'own', expect: { status: 403, data: NONE } },
  { endpoint: 'GET /la/v1/reports/usage', role: 'clinician', org: 'other', expect: { status: 403, data: NONE } },
  { endpoint: 'GET /la/v1/reports/usage', role: 'la-system', org: 'own', expect: { status: 200, data: OWN } },
  { endpoint: 'GET /la/v1/reports/usage', role: 'la-system', org: 'other', expect: { status: 200, data: OWN } },
  { endpoint: 'GET /la/v1/reports/usage', role: 'social-worker', org: 'own', expect: { status: 200, data: OWN } },
  { endpoint: 'GET /la/v1/reports/usage', role: 'social-worker', org: 'other', expect: { status: 200, data: OWN } },
  { endpoint: 'GET /la/v1/reports/usage', role: 'ops', org: 'own', expect: { status: 403, data: NONE } },
  { endpoint: 'GET /la/v1/reports/usage', role: 'ops', org: 'other', expect: { status: 403, data: NONE } },
  { endpoint: 'GET /ops/v1/reports/usage', role: 'none', org: 'n/a', expect: { status: 401, data: NONE } },
  { endpoint: 'GET /ops/v1/reports/usage', role: 'clinician', org: 'n/a', expect: { status: 403, data: NONE } },
  { endpoint: 'GET /ops/v1/reports/usage', role: 'la-system', org: 'n/a', expect: { status: 403, data: NONE } },
  { endpoint: 'GET /ops/v1/reports/usage', role: 'social-worker', org: 'n/a', expect: { status: 403, data: NONE } },
  { endpoint: 'GET /ops/v1/reports/usage', role: 'ops', org: 'n/a', expect: { status: 200, data: NONE } },
  { endpoint: 'GET /la/v1/plans', role: 'none', org: 'n/a', expect: { status: 401, data: NONE } },
  { endpoint: 'GET /la/v1/plans', role: 'clinician', org: 'own', expect: { status: 403, data: NONE } },
  { endpoint: 'GET /la/v1/plans', role: 'clinician', org: 'other', expect: { status: 403, data: NONE } },
  { endpoint: 'GET /la/v1/plans', role: 'la-system', org: 'own', expect: { status: 200, data: OWN } },
  { endpoint: 'GET /la/v1/plans', role: 'la-system', org: 'other', expect: { status: 200, data: OWN } },
  { endpoint: 'GET /la/v1/plans', role: 'social-worker', org: 'own', expect: { status: 403, data: NONE } },
  { endpoint: 'GET /la/v1/plans', role: 'social-worker', org: 'other', expect: { status: 403, data: NONE } },
  { endpoint: 'GET /la/v1/plans', role: 'ops', org: 'own', expect: { status: 403, data: NONE } },
  { endpoint: 'GET /la/v1/plans', role: 'ops', org: 'other', expect: { status: 403, data: NONE } },
  // The mailbox and its acknowledgements: LA system and duty workers, each LA its own.
  { endpoint: 'GET /la/v1/notifications', role: 'none', org: 'n/a', expect: { status: 401, data: NONE } },
  { endpoint: 'GET /la/v1/notifications', role: 'clinician', org: 'own', expect: { status: 403, data: NONE } },
  { endpoint: 'GET /la/v1/notifications', role: 'clinician', org: 'other', expect: { status: 403, data: NONE } },
  { endpoint: 'GET /la/v1/notifications', role: 'la-system', org: 'own', expect: { status: 200, data: OWN } },
  { endpoint: 'GET /la/v1/notifications', role: 'la-system', org: 'other', expect: { status: 200, data: OWN } },
  { endpoint: 'GET /la/v1/notifications', role: 'social-worker', org: 'own', expect: { status: 200, data: OWN } },
  { endpoint: 'GET /la/v1/notifications', role: 'social-worker', org: 'other', expect: { status: 200, data: OWN } },
  { endpoint: 'GET /la/v1/notifications', role: 'ops', org: 'own', expect: { status: 403, data: NONE } },
  { endpoint: 'GET /la/v1/notifications', role: 'ops', org: 'other', expect: { status: 403, data: NONE } },
  // Duty teams: the LA's own; its workers read them (the console's "my team"), only its system sets them.
  { endpoint: 'GET /la/v1/duty-teams', role: 'none', org: 'n/a', expect: { status: 401, data: NONE } },
  { endpoint: 'GET /la/v1/duty-teams', role: 'clinician', org: 'own', expect: { status: 403, data: NONE } },
  { endpoint: 'GET /la/v1/duty-teams', role: 'clinician', org: 'other', expect: { status: 403, data: NONE } },
  { endpoint: 'GET /la/v1/duty-teams', role: 'la-system', org: 'own', expect: { status: 200, data: OWN } },
  { endpoint: 'GET /la/v1/duty-teams', role: 'la-system', org: 'other', expect: { status: 200, data: OWN } },
  { endpoint: 'GET /la/v1/duty-teams', role: 'social-worker', org: 'own', expect: { status: 200, data: OWN } },
  { endpoint: 'GET /la/v1/duty-teams', role: 'social-worker', org: 'other', expect: { status: 200, data: OWN } },
  { endpoint: 'GET /la/v1/duty-teams', role: 'ops', org: 'own', expect: { status: 403, data: NONE } },
  { endpoint: 'GET /la/v1/duty-teams', role: 'ops', org: 'other', expect: { status: 403, data: NONE } },
  { endpoint: 'PUT /la/v1/duty-teams', role: 'none', org: 'n/a', expect: { status: 401, data: NONE } },
  { endpoint: 'PUT /la/v1/duty-teams', role: 'clinician', org: 'own', expect: { status: 403, data: NONE } },
  { endpoint: 'PUT /la/v1/duty-teams', role: 'clinician', org: 'other', expect: { status: 403, data: NONE } },
  { endpoint: 'PUT /la/v1/duty-teams', role: 'la-system', org: 'own', expect: { status: 200, data: WRITES_OWN } },
  { endpoint: 'PUT /la/v1/duty-teams', role: 'la-system', org: 'other', expect: { status: 200, data: WRITES_OWN } },
  { endpoint: 'PUT /la/v1/duty-teams', role: 'social-worker', org: 'own', expect: { status: 403, data: NONE } },
  { endpoint: 'PUT /la/v1/duty-teams', role: 'social-worker', org: 'other', expect: { status: 403, data: NONE } },
  { endpoint: 'PUT /la/v1/duty-teams', role: 'ops', org: 'own', expect: { status: 403, data: NONE } },
  { endpoint: 'PUT /la/v1/duty-teams', role: 'ops', org: 'other', expect: { status: 403, data: NONE } },
  { endpoint: 'DELETE /la/v1/duty-teams', role: 'none', org: 'n/a', expect: { status: 401, data: NONE } },
  { endpoint: 'DELETE /la/v1/duty-teams', role: 'clinician', org: 'own', expect: { status: 403, data: NONE } },
  { endpoint: 'DELETE /la/v1/duty-teams', role: 'clinician', org: 'other', expect: { status: 403, data: NONE } },
  { endpoint: 'DELETE /la/v1/duty-teams', role: 'la-system', org: 'own', expect: { status: 200, data: WRITES_OWN } },
  { endpoint: 'DELETE /la/v1/duty-teams', role: 'la-system', org: 'other', expect: { status: 200, data: WRITES_OWN } },
  { endpoint: 'DELETE /la/v1/duty-teams', role: 'social-worker', org: 'own', expect: { status: 403, data: NONE } },
  { endpoint: 'DELETE /la/v1/duty-teams', role: 'social-worker', org: 'other', expect: { status: 403, data: NONE } },
  { endpoint: 'DELETE /la/v1/duty-teams', role: 'ops', org: 'own', expect: { status: 403, data: NONE } },
  { endpoint: 'DELETE /la/v1/duty-teams', role: 'ops', org: 'other', expect: { status: 403, data: NONE } },
  { endpoint: 'GET /la/v1/notifications/acknowledgements', role: 'none', org: 'n/a', expect: { status: 401, data: NONE } },
  { endpoint: 'GET /la/v1/notifications/acknowledgements', role: 'clinician', org: 'own', expect: { status: 403, data: NONE } },
  { endpoint: 'GET /la/v1/notifications/acknowledgements', role: 'clinician', org: 'other', expect: { status: 403, data: NONE } },
  { endpoint: 'GET /la/v1/notifications/acknowledgements', role: 'la-system', org: 'own', expect: { status: 200, data: OWN } },
  { endpoint: 'GET /la/v1/notifications/acknowledgements', role: 'la-system', org: 'other', expect: { status: 200, data: OWN } },
  { endpoint: 'GET /la/v1/notifications/acknowledgements', role: 'social-worker', org: 'own', expect: { status: 200, data: OWN } },
  { endpoint: 'GET /la/v1/notifications/acknowledgements', role: 'social-worker', org: 'other', expect: { status: 200, data: OWN } },
  { endpoint: 'GET /la/v1/notifications/acknowledgements', role: 'ops', org: 'own', expect: { status: 403, data: NONE } },
  { endpoint: 'GET /la/v1/notifications/acknowledgements', role: 'ops', org: 'other', expect: { status: 403, data: NONE } },
  { endpoint: 'POST /la/v1/notifications/ack {upTo}', role: 'none', org: 'n/a', expect: { status: 401, data: NONE } },
  { endpoint: 'POST /la/v1/notifications/ack {upTo}', role: 'clinician', org: 'own', expect: { status: 403, data: NONE } },
  { endpoint: 'POST /la/v1/notifications/ack {upTo}', role: 'clinician', org: 'other', expect: { status: 403, data: NONE } },
  { endpoint: 'POST /la/v1/notifications/ack {upTo}', role: 'la-system', org: 'own', expect: { status: 200, data: WRITES_OWN } },
  { endpoint: 'POST /la/v1/notifications/ack {upTo}', role: 'la-system', org: 'other', expect: { status: 200, data: WRITES_OWN } },
  { endpoint: 'POST /la/v1/notifications/ack {upTo}', role: 'social-worker', org: 'own', expect: { status: 200, data: WRITES_OWN } },
  { endpoint: 'POST /la/v1/notifications/ack {upTo}', role: 'social-worker', org: 'other', expect: { status: 200, data: WRITES_OWN } },
  { endpoint: 'POST /la/v1/notifications/ack {upTo}', role: 'ops', org: 'own', expect: { status: 403, data: NONE } },
  { endpoint: 'POST /la/v1/notifications/ack {upTo}', role: 'ops', org: 'other', expect: { status: 403, data: NONE } },
  { endpoint: 'POST /la/v1/notifications/ack {eventNumbers}', role: 'none', org: 'n/a', expect: { status: 401, data: NONE } },
  { endpoint: 'POST /la/v1/notifications/ack {eventNumbers}', role: 'clinician', org: 'own', expect: { status: 403, data: NONE } },
  { endpoint: 'POST /la/v1/notifications/ack {eventNumbers}', role: 'clinician', org: 'other', expect: { status: 403, data: NONE } },
  { endpoint: 'POST /la/v1/notifications/ack {eventNumbers}', role: 'la-system', org: 'own', expect: { status: 200, data: WRITES_OWN } },
  { endpoint: 'POST /la/v1/notifications/ack {eventNumbers}', role: 'la-system', org: 'other', expect: { status: 200, data: WRITES_OWN } },
  { endpoint: 'POST /la/v1/notifications/ack {eventNumbers}', role: 'social-worker', org: 'own', expect: { status: 200, data: WRITES_OWN } },
  { endpoint: 'POST /la/v1/notifications/ack {eventNumbers}', role: 'social-worker', org: 'other', expect: { status: 200, data: WRITES_OWN } },
  { endpoint: 'POST /la/v1/notifications/ack {eventNumbers}', role: 'ops', org: 'own', expect: { status: 403, data: NONE } },
  { endpoint: 'POST /la/v1/notifications/ack {eventNumbers}', role: 'ops', org: 'other', expect: { status: 403, data: NONE } },
  // Live alerts: a ticket carries its LA; the stream, by bearer or ticket, carries only the caller's LA.
  { endpoint: 'POST /la/v1/notifications/stream-tickets', role: 'none', org: 'n/a', expect: { status: 401, data: NONE } },
  { endpoint: 'POST /la/v1/notifications/stream-tickets', role: 'clinician', org: 'own', expect: { status: 403, data: NONE } },
  { endpoint: 'POST /la/v1/notifications/stream-tickets', role: 'clinician', org: 'other', expect: { status: 403, data: NONE } },
  { endpoint: 'POST /la/v1/notifications/stream-tickets', role: 'la-system', org: 'own', expect: { status: 201, data: OWN } },
  { endpoint: 'POST /la/v1/notifications/stream-tickets', role: 'la-system', org: 'other', expect: { status: 201, data: OWN } },
  { endpoint: 'POST /la/v1/notifications/stream-tickets', role: 'social-worker', org: 'own', expect: { status: 201, data: OWN } },
  { endpoint: 'POST /la/v1/notifications/stream-tickets', role: 'social-worker', org: 'other', expect: { status: 201, data: OWN } },
  { endpoint: 'POST /la/v1/notifications/stream-tickets', role: 'ops', org: 'own', expect: { status: 403, data: NONE } },
  { endpoint: 'POST /la/v1/notifications/stream-tickets', role: 'ops', org: 'other', expect: { status: 403, data: NONE } },
  { endpoint: 'WS /la/v1/notifications/stream (bearer)', role: 'none', org: 'n/a', expect: { status: 401, data: NONE } },
  { endpoint: 'WS /la/v1/notifications/stream (bearer)', role: 'clinician', org: 'own', expect: { status: 403, data: NONE } },
  { endpoint: 'WS /la/v1/notifications/stream (bearer)', role: 'clinician', org: 'other', expect: { status: 403, data: NONE } },
  { endpoint: 'WS /la/v1/notifications/stream (bearer)', role: 'la-system', org: 'own', expect: { status: 101, data: OWN } },
  { endpoint: 'WS /la/v1/notifications/stream (bearer)', role: 'la-system', org: 'other', expect: { status: 101, data: OWN } },
  { endpoint: 'WS /la/v1/notifications/stream (bearer)', role: 'social-worker', org: 'own', expect: { status: 101, data: OWN } },
  { endpoint: 'WS /la/v1/notifications/stream (bearer)', role: 'social-worker', org: 'other', expect: { status: 101, data: OWN } },
  { endpoint: 'WS /la/v1/notifications/stream (bearer)', role: 'ops', org: 'own', expect: { status: 403, data: NONE } },
  { endpoint: 'WS /la/v1/notifications/stream (bearer)', role: 'ops', org: 'other', expect: { status: 403, data: NONE } },
  { endpoint: 'WS /la/v1/notifications/stream?ticket=', role: 'none', org: 'n/a', expect: { status: 401, data: NONE } },
  { endpoint: 'WS /la/v1/notifications/stream?ticket=', role: 'clinician', org: 'own', expect: { status: 403, data: NONE } },
  { endpoint: 'WS /la/v1/notifications/stream?ticket=', role: 'clinician', org: 'other', expect: { status: 403, data: NONE } },
  { endpoint: 'WS /la/v1/notifications/stream?ticket=', role: 'la-system', org: 'own', expect: { status: 101, data: OWN } },
  { endpoint: 'WS /la/v1/notifications/stream?ticket=', role: 'la-system', org: 'other', expect: { status: 101, data: OWN } },
  { endpoint: 'WS /la/v1/notifications/stream?ticket=', role: 'social-worker', org: 'own', expect: { status: 101, data: OWN } },
  { endpoint: 'WS /la/v1/notifications/stream?ticket=', role: 'social-worker', org: 'other', expect: { status: 101, data: OWN } },
  { endpoint: 'WS /la/v1/notifications/stream?ticket=', role: 'ops', org: 'own', expect: { status: 403, data: NONE } },
  { endpoint: 'WS /la/v1/notifications/stream?ticket=', role: 'ops', org: 'other', expect: { status: 403, data: NONE } },
  { endpoint: 'WS /la/v1/notifications/stream ack frames', role: 'none', org: 'n/a', expect: { status: 401, data: NONE } },
  { endpoint: 'WS /la/v1/notifications/stream ack frames', role: 'clinician', org: 'own', expect: { status: 403, data: NONE } },
  { endpoint: 'WS /la/v1/notifications/stream ack frames', role: 'clinician', org: 'other', expect: { status: 403, data: NONE } },
  { endpoint: 'WS /la/v1/notifications/stream ack frames', role: 'la-system', org: 'own', expect: { status: 101, data: WRITES_OWN } },
  { endpoint: 'WS /la/v1/notifications/stream ack frames', role: 'la-system', org: 'other', expect: { status: 101, data: WRITES_OWN } },
  { endpoint: 'WS /la/v1/notifications/stream ack frames', role: 'social-worker', org: 'own', expect: { status: 101, data: WRITES_OWN } },
  { endpoint: 'WS /la/v1/notifications/stream ack frames', role: 'social-worker', org: 'other', expect: { status: 101, data: WRITES_OWN } },
  { endpoint: 'WS /la/v1/notifications/stream ack frames', role: 'ops', org: 'own', expect: { status: 403, data: NONE } },
  { endpoint: 'WS /la/v1/notifications/stream ack frames', role: 'ops', org: 'other', expect: { status: 403, data: NONE } },
];

// ---------------------------------------------------------------------------------------------
// The two LAs of a row, and what of them may show where.

type La = {
  org: string; orgName: string; officeHoursPhone: string; edtPhone: string;
  familyName: string; givenNames: string[]; nhs: string[]; seq: number;
  /** Batch 1, which also refused two records: a bad checksum (index `children`), and a LAC with no legal status (then on the worklist). */
  uploadId: string;
  refusedNhs: string;
};
type Pair = { A: La; B: La };

let service: TestService;
let remote: RemoteRoute;
let db: pg.Pool;
beforeAll(async () => {
  // A test instance listens on loopback only; /metrics is also called from 127.0.0.2, which it does not treat as loopback.
  service = await startTestService({ env: { RATE_LIMIT_PER_SECOND: '0', STREAM_HEARTBEAT_SECONDS: '1' } });
  remote = remoteRouteTo(service.url);
  db = new pg.Pool({ connectionString: service.databaseUrl, max: 2 });
});
afterAll(async () => {
  await db?.end();
  await service?.stop();
});


async function createLa(children: number): Promise<La> {
  const org = syntheticLaCode();
  const la: La = {
    org, orgName: `${org} Borough Council`, officeHoursPhone: syntheticPhone(), edtPhone: syntheticPhone(),
    familyName: `Wallfam${org}`, givenNames: Array.from({ length: children }, (_, i) => `Wallgiven${org}n${i}`), nhs: [], seq: 1, uploadId: '',
    refusedNhs: '',
  };
  const token = await laToken(service, org);
  const put = await service.fetch('/la/v1/organisation', {
    method: 'PUT', token, headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: la.orgName, officeHoursPhone: la.officeHoursPhone, edtPhone: la.edtPhone }),
  });
  expect(put.status).toBe(200);
  const teams = await service.fetch('/la/v1/duty-teams', {
    method: 'PUT', token, headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ teams: [{ code: 'DAY', name: `Day team of ${org}`, phone: la.officeHoursPhone }, { code: 'EDT', name: `EDT of ${org}`, phone: la.edtPhone }], routing: { inHours: 'DAY', outOfHours: 'EDT' } }),
  });
  expect(teams.status).toBe(200);
  const records = la.givenNames.map((givenNames) => childRecord({ familyName: la.familyName, givenNames }));
  la.nhs = records.map((r) => r.nhsNumber as string);
  const refused = childRecord({ familyName: la.familyName, planType: 'LAC' });
  la.refusedNhs = refused.nhsNumber as string;
  const ack = await (await uploadJson(service, token, la.seq, [...records, childRecord({ nhsNumber: badChecksumNhsNumber(), familyName: la.familyName }), refused])).json();
  expect(ack).toMatchObject({ loaded: children, rejected: 2 });
  la.uploadId = ack.uploadId;
  return la;
}

async function lookUp(nhs: string, sub = `walls-dr-${randomUUID()}`) {
  const res = await service.fetch(`/cpis/FHIR/R4/CareTeam?patient=${nhs}`, { token: await clinicianToken(service, { sub }) });
  expect(res.status).toBe(200);
}

/** A with notifications 1 to 3, B with notification 1. */
async function createPair(): Promise<Pair> {
  const [A, B] = await Promise.all([createLa(3), createLa(1)]);
  for (const nhs of [...A.nhs, ...B.nhs]) await lookUp(nhs);
  return { A, B };
}

const patientData = (la: La) => [...la.nhs, la.refusedNhs, la.familyName, ...la.givenNames];
const phonesOf = (la: La) => [la.officeHoursPhone, la.edtPhone, e164Of(la.officeHoursPhone), e164Of(la.edtPhone)];
const everythingOf = (la: La) => [...patientData(la), la.org, la.orgName, ...phonesOf(la)];

type Snapshot = { notifications: unknown[] | null; counter: string | null } & Record<string, unknown>;

/** Everything PostgreSQL holds for one LA. */
async function snapshot(la: La) {
  const { rows } = await db.query<{ s: Snapshot }>(
    `SELECT json_build_object(
       'organisation', (SELECT row_to_json(o) FROM organisations o WHERE code = $1),
       'plans', (SELECT json_agg(p ORDER BY p.id) FROM plans p WHERE la_code = $1),
       'uploads', (SELECT json_agg(u ORDER BY u.sequence_number) FROM uploads u WHERE la_code = $1),
       'notifications', (SELECT json_agg(n ORDER BY n.event_number) FROM notifications n WHERE la_code = $1),
       'refusedRecords', (SELECT json_agg(r ORDER BY r.nhs_number) FROM refused_records r WHERE la_code = $1),
       'counter', (SELECT last_event_number FROM la_event_counters WHERE la_code = $1)) AS s`,
    [la.org],
  );
  return rows[0]?.s as Snapshot;
}

/** Nothing the LA held changed, and it gained exactly `added` notifications (from the test's own lookups). */
function expectKept(after: Snapshot, before: Snapshot, added = 0) {
  const existing = before.notifications ?? [];
  expect({ ...after, counter: null, notifications: (after.notifications ?? []).slice(0, existing.length) }).toEqual({ ...before, counter: null });
  expect((after.notifications ?? []).length - existing.length).toBe(added);
}

/** A snapshot with the standing columns an operator's suspension or reinstatement changes left out. */
function withoutStanding(snapshot: Snapshot): Snapshot {
  const { status: _s, status_changed_at: _at, status_changed_by: _by, status_reason: _why, updated_at: _u, ...rest } = snapshot.organisation as Record<string, unknown>;
  return { ...snapshot, organisation: rest };
}

function expectAbsent(text: string, values: string[], what: string) {
  const lower = text.toLowerCase();
  const found = values.filter((v) => lower.includes(v.toLowerCase()));
  expect(found, `the answer shows ${what}`).toEqual([]);
}

async function ackedOf(la: La) {
  const { rows } = await db.query<{ event_number: string; acknowledged_by: string | null }>(
    'SELECT event_number, acknowledged_by FROM notifications WHERE la_code = $1 AND acknowledged_at IS NOT NULL ORDER BY event_number',
    [la.org],
  );
  return rows.map((r) => ({ eventNumber: Number(r.event_number), by: r.acknowledged_by }));
}

// ---------------------------------------------------------------------------------------------
// What each endpoint does in a row.

type Ctx = Pair & { role: Role; org: Org; token: string | undefined; sub: string; caller: La | undefined; other: La | undefined };
type Outcome = { status: number; text: string; addedToOther?: number };
type Endpoint = {
  /** As the app registers it: `METHOD /path`, or `WS /path` for the upgrade. */
  route: string;
  laScoped: boolean;
  act(ctx: Ctx): Promise<Outcome>;
  /** For `own LA only`: what of the caller's LA the answer must show. */
  shows?(caller: La): string[];
  /** For `changes own LA only` (and `A's standing only`, with A as the caller): the change the caller asked for, read back. */
  changed?(ctx: Ctx & { caller: La }, outcome: Outcome): Promise<void>;
  /** What the row needs of the pair before it is snapshotted (done as an operator, not as the row's caller). */
  prepare?(pair: Pair): Promise<void>;
};

async function http(path: string, ctx: Ctx, init: RequestInit = {}): Promise<Outcome> {
  const res = await service.fetch(path, { ...init, token: ctx.token });
  return { status: res.status, text: await res.text() };
}
const json = (body: unknown): RequestInit => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
const searchPath = (type: string, nhs: string) => `/cpis/FHIR/R4/${type}?patient:identifier=${encodeURIComponent(`${NHS_SYSTEM}|${nhs}`)}`;

/** Opens the stream (or says why not), replays from 0, then a lookup for each LA goes live: only the caller's may arrive. */
async function streamFlow(ctx: Ctx, open: () => Promise<StreamClient>): Promise<Outcome> {
  let client: StreamClient;
  try {
    client = await open();
  } catch (error) {
    return { status: (error as { status?: number }).status ?? -1, text: '' };
  }
  const { caller, other } = ctx as Ctx & { caller: La; other: La };
  await client.waitFor((f) => f.filter((x) => x.type === 'notification').length >= caller.nhs.length);
  await lookUp(other.nhs[0] as string);
  await lookUp(caller.nhs[0] as string);
  await client.waitFor((f) => f.some((x) => x.type === 'notification' && x.notification.eventNumber === caller.nhs.length + 1));
  await new Promise((resolve) => setTimeout(resolve, 300)); // room for a misrouted frame to show itself
  client.ws.close();
  return { status: 101, text: JSON.stringify(client.frames), addedToOther: 1 };
}

async function issueTicket(ctx: Ctx): Promise<{ status: number; ticket?: string; text: string }> {
  const res = await service.fetch('/la/v1/notifications/stream-tickets', { method: 'POST', token: ctx.token });
  const text = await res.text();
  return { status: res.status, text, ticket: res.status === 201 ? (JSON.parse(text) as { ticket: string }).ticket : undefined };
}

/** The caller's notifications a selector should have marked, and the acknowledgement read back. */
async function expectAcked(ctx: Ctx & { caller: La }, selected: (n: number) => boolean, answered: number[]) {
  const expected = ctx.caller.nhs.map((_, i) => i + 1).filter(selected);
  expect(answered).toEqual(expected);
  expect(await ackedOf(ctx.caller)).toEqual(expected.map((eventNumber) => ({ eventNumber, by: ctx.sub })));
}

const fhirSearch = (type: 'CareTeam' | 'Flag' | 'AuditEvent'): Endpoint => ({
  route: `GET /cpis/FHIR/R4/${type}`,
  laScoped: false,
  act: (ctx) => http(searchPath(type, ctx.A.nhs[0] as string), ctx),
});

const fhirPostSearch = (type: 'CareTeam' | 'Flag' | 'AuditEvent'): Endpoint => ({
  route: `POST /cpis/FHIR/R4/${type}/_search`,
  laScoped: false,
  act: (ctx) => http(`/cpis/FHIR/R4/${type}/_search`, ctx, {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: `patient:identifier=${encodeURIComponent(`${NHS_SYSTEM}|${ctx.A.nhs[0] as string}`)}`,
  }),
});

/** A's standing as PostgreSQL holds it. */
const standingOf = async (la: La) =>
  (await db.query('SELECT status, status_changed_by, status_reason FROM organisations WHERE code = $1', [la.org])).rows[0];
const asOperator = async (path: string, body: unknown) => {
  const token = await service.token({ role: 'ops', sub: 'walls-operator', org: 'OPS01' });
  const res = await service.fetch(path, { ...json(body), token });
  expect(res.status).toBe(200);
};

const ENDPOINTS = {
  'GET /health/live': { route: 'GET /health/live', laScoped: false, act: (ctx) => http('/health/live', ctx) },
  'GET /health/ready': { route: 'GET /health/ready', laScoped: false, act: (ctx) => http('/health/ready', ctx) },
  'GET /metrics from loopback': { route: 'GET /metrics', laScoped: false, act: (ctx) => http('/metrics', ctx) },
  'GET /metrics from another host': {
    route: 'GET /metrics',
    laScoped: false,
    act: async (ctx) => requestVia(remote, '/metrics', { headers: ctx.token ? { authorization: `Bearer ${ctx.token}` } : {} }),
  },
  'GET /console/ (static files)': { route: 'GET /console/*', laScoped: false, act: (ctx) => http('/console/', ctx) },
  'GET /console/session': { route: 'GET /console/session', laScoped: false, act: (ctx) => http('/console/session', ctx) },
  'POST /console/dev-sign-in': { route: 'POST /console/dev-sign-in', laScoped: false, act: (ctx) => http('/console/dev-sign-in', ctx, json({ org: ctx.A.org })) },
  'GET /cpis/FHIR/R4/metadata': { route: 'GET /cpis/FHIR/R4/metadata', laScoped: false, act: (ctx) => http('/cpis/FHIR/R4/metadata', ctx) },
  'GET /cpis/FHIR/R4/CareTeam': fhirSearch('CareTeam'),
  'GET /cpis/FHIR/R4/Flag': fhirSearch('Flag'),
  'GET /cpis/FHIR/R4/AuditEvent': fhirSearch('AuditEvent'),
  'POST /cpis/FHIR/R4/CareTeam/_search': fhirPostSearch('CareTeam'),
  'POST /cpis/FHIR/R4/Flag/_search': fhirPostSearch('Flag'),
  'POST /cpis/FHIR/R4/AuditEvent/_search': fhirPostSearch('AuditEvent'),
  'POST /cpis/FHIR/R4/Communication': {
    route: 'POST /cpis/FHIR/R4/Communication',
    laScoped: false,
    act: (ctx) => http('/cpis/FHIR/R4/Communication', ctx, fhirJsonPost(notBroughtReport(ctx.A.nhs[0] as string))),
  },
  'GET /cpis/FHIR/R4/CareTeam with a bad IsUnscheduledAccessEvent': {
    route: 'GET /cpis/FHIR/R4/CareTeam',
    laScoped: false,
    act: (ctx) => http(searchPath('CareTeam', ctx.A.nhs[0] as string), ctx, { headers: { IsUnscheduledAccessEvent: 'maybe' } }),
  },
  'GET /ops/v1/las': { route: 'GET /ops/v1/las', laScoped: false, act: (ctx) => http('/ops/v1/las', ctx) },
  'POST /ops/v1/las': {
    route: 'POST /ops/v1/las',
    laScoped: false,
    act: (ctx) => http('/ops/v1/las', ctx, json({
      code: syntheticLaCode(), name: 'Walls Registered Council', officeHoursPhone: syntheticPhone(), edtPhone: syntheticPhone(),
      officeHours: { timeZone: 'Europe/London', staffed: '24/7' },
    })),
  },
  'GET /ops/v1/las/{code}': { route: 'GET /ops/v1/las/:code', laScoped: false, act: (ctx) => http(`/ops/v1/las/${ctx.A.org}`, ctx) },
  'POST /ops/v1/las/{code}/suspend': {
    route: 'POST /ops/v1/las/:code/suspend',
    laScoped: false,
    act: (ctx) => http(`/ops/v1/las/${ctx.A.org}/suspend`, ctx, json({ reason: 'walls: suspended' })),
    changed: async (ctx) => expect(await standingOf(ctx.A)).toEqual({ status: 'suspended', status_changed_by: ctx.sub, status_reason: 'walls: suspended' }),
  },
  'POST /ops/v1/las/{code}/reinstate': {
    route: 'POST /ops/v1/las/:code/reinstate',
    laScoped: false,
    prepare: (pair) => asOperator(`/ops/v1/las/${pair.A.org}/suspend`, { reason: 'walls: to be reinstated' }),
    act: (ctx) => http(`/ops/v1/las/${ctx.A.org}/reinstate`, ctx, json({ reason: 'walls: reinstated' })),
    changed: async (ctx) => expect(await standingOf(ctx.A)).toEqual({ status: 'active', status_changed_by: ctx.sub, status_reason: 'walls: reinstated' }),
  },
  'GET /la/v1/openapi.json': { route: 'GET /la/v1/openapi.json', laScoped: false, act: (ctx) => http('/la/v1/openapi.json', ctx) },
  'GET /la/v1/asyncapi.json': { route: 'GET /la/v1/asyncapi.json', laScoped: false, act: (ctx) => http('/la/v1/asyncapi.json', ctx) },
  'GET /la/v1/organisation': {
    route: 'GET /la/v1/organisation',
    laScoped: true,
    act: (ctx) => http(`/la/v1/organisation?org=${ctx.A.org}`, ctx),
    shows: (la) => [la.org, la.orgName, ...phonesOf(la)],
  },
  'PUT /la/v1/organisation': {
    route: 'PUT /la/v1/organisation',
    laScoped: true,
    act: (ctx) => http('/la/v1/organisation', ctx, { ...json({ name: `Renamed ${ctx.caller?.org ?? 'council'}`, officeHoursPhone: '028 9649 6000', edtPhone: '028 9649 6999' }), method: 'PUT' }),
    changed: async (ctx) => {
      const { rows } = await db.query('SELECT name, edt_phone FROM organisations WHERE code = $1', [ctx.caller.org]);
      expect(rows).toEqual([{ name: `Renamed ${ctx.caller.org}`, edt_phone: '+442896496999' }]);
    },
  },
  'POST /la/v1/uploads': {
    route: 'POST /la/v1/uploads',
    laScoped: true,
    // A new plan of A's first child, with the details A holds for it (one child has one set of details).
    act: (ctx) =>
      http('/la/v1/uploads', ctx, json({
        sequenceNumber: 2,
        records: [childRecord({ nhsNumber: ctx.A.nhs[0], familyName: ctx.A.familyName, givenNames: ctx.A.givenNames[0], startDate: yearsAgo(0, 10), localId: 'SENT-AGAIN' })],
      })),
    changed: async (ctx, outcome) => {
      expect(JSON.parse(outcome.text)).toMatchObject({ result: 'CPF02', loaded: 1 });
      const { rows } = await db.query(`SELECT la_code FROM plans WHERE nhs_number = $1 AND local_id = 'SENT-AGAIN'`, [ctx.A.nhs[0]]);
      expect(rows).toEqual([{ la_code: ctx.caller.org }]);
    },
  },
  'POST /la/v1/uploads?dryRun=true': {
    route: 'POST /la/v1/uploads',
    laScoped: true,
    // The batch the row above sends, only checked.
    act: (ctx) =>
      http('/la/v1/uploads?dryRun=true', ctx, json({
        sequenceNumber: 2,
        records: [childRecord({ nhsNumber: ctx.A.nhs[0], familyName: ctx.A.familyName, givenNames: ctx.A.givenNames[0], startDate: yearsAgo(0, 10), localId: 'SENT-AGAIN' })],
      })),
  },
  'GET /la/v1/refusals': {
    route: 'GET /la/v1/refusals',
    laScoped: true,
    act: (ctx) => http(`/la/v1/refusals?org=${ctx.A.org}`, ctx),
    shows: (la) => [la.refusedNhs, 'LAC_LEGAL_STATUS_REQUIRED', la.uploadId],
  },
  'GET /la/v1/reports/usage': {
    route: 'GET /la/v1/reports/usage',
    laScoped: true,
    act: (ctx) => http(`/la/v1/reports/usage?month=${londonDateOf(new Date()).slice(0, 7)}&org=${ctx.A.org}`, ctx),
    shows: (la) => [la.org, la.orgName],
  },
  'GET /ops/v1/reports/usage': {
    route: 'GET /ops/v1/reports/usage',
    laScoped: false,
    act: (ctx) => http(`/ops/v1/reports/usage?month=${londonDateOf(new Date()).slice(0, 7)}`, ctx),
  },
  'GET /la/v1/uploads/{uploadId}/refusals': {
    route: 'GET /la/v1/uploads/:uploadId/refusals',
    laScoped: true,
    act: (ctx) => http(`/la/v1/uploads/${ctx.A.uploadId}/refusals`, ctx),
    shows: (la) => [la.uploadId, 'NHS_NUMBER_CHECKSUM'],
  },
  'GET /la/v1/plans': {
    route: 'GET /la/v1/plans',
    laScoped: true,
    act: (ctx) => http(`/la/v1/plans?limit=1000&org=${ctx.A.org}`, ctx),
    shows: (la) => [...la.nhs, la.familyName],
  },
  'GET /la/v1/notifications': {
    route: 'GET /la/v1/notifications',
    laScoped: true,
    act: (ctx) => http(`/la/v1/notifications?after=0&limit=1000&org=${ctx.A.org}`, ctx),
    shows: (la) => [...la.nhs, la.familyName],
  },
  'GET /la/v1/duty-teams': {
    route: 'GET /la/v1/duty-teams',
    laScoped: true,
    act: (ctx) => http(`/la/v1/duty-teams?org=${ctx.A.org}`, ctx),
    shows: (la) => [`Day team of ${la.org}`, `EDT of ${la.org}`, la.edtPhone],
  },
  'PUT /la/v1/duty-teams': {
    route: 'PUT /la/v1/duty-teams',
    laScoped: true,
    act: (ctx) => http('/la/v1/duty-teams', ctx, {
      ...json({ teams: [{ code: 'NIGHT', name: 'Night team', phone: '028 9649 6999' }], routing: { inHours: 'NIGHT', outOfHours: 'NIGHT' } }), method: 'PUT',
    }),
    changed: async (ctx) => {
      const { rows } = await db.query(`SELECT duty_teams->'routing'->>'inHours' AS in_hours FROM organisations WHERE code = $1`, [ctx.caller.org]);
      expect(rows).toEqual([{ in_hours: 'NIGHT' }]);
    },
  },
  'DELETE /la/v1/duty-teams': {
    route: 'DELETE /la/v1/duty-teams',
    laScoped: true,
    act: (ctx) => http(`/la/v1/duty-teams?org=${ctx.A.org}`, ctx, { method: 'DELETE' }),
    changed: async (ctx) => {
      const { rows } = await db.query('SELECT duty_teams FROM organisations WHERE code = $1', [ctx.caller.org]);
      expect(rows).toEqual([{ duty_teams: null }]);
    },
  },
  'GET /la/v1/notifications/acknowledgements': {
    route: 'GET /la/v1/notifications/acknowledgements',
    laScoped: true,
    // The caller first acknowledges its own LA's notifications (where its role may), then reads the acknowledgements.
    act: async (ctx) => {
      await http('/la/v1/notifications/ack', ctx, json({ upTo: 3 }));
      return http(`/la/v1/notifications/acknowledgements?org=${ctx.A.org}`, ctx);
    },
    shows: (la) => [`"eventNumbers":[${la.nhs.map((_, i) => i + 1).join(',')}]`],
  },
  'POST /la/v1/notifications/ack {upTo}': {
    route: 'POST /la/v1/notifications/ack',
    laScoped: true,
    act: (ctx) => http('/la/v1/notifications/ack', ctx, json({ upTo: ctx.A.nhs.length })),
    changed: (ctx, outcome) => expectAcked(ctx, (n) => n <= ctx.A.nhs.length, JSON.parse(outcome.text).acknowledged),
  },
  'POST /la/v1/notifications/ack {eventNumbers}': {
    route: 'POST /la/v1/notifications/ack',
    laScoped: true,
    // 2 and 3 exist only in A.
    act: (ctx) => http('/la/v1/notifications/ack', ctx, json({ eventNumbers: [2, 3] })),
    changed: (ctx, outcome) => expectAcked(ctx, (n) => n === 2 || n === 3, JSON.parse(outcome.text).acknowledged),
  },
  'POST /la/v1/notifications/stream-tickets': {
    route: 'POST /la/v1/notifications/stream-tickets',
    laScoped: true,
    act: async (ctx) => {
      const { status, ticket, text } = await issueTicket(ctx);
      if (!ticket) return { status, text };
      const client = await openStream(service, { ticket, after: 0 });
      await client.waitFor((f) => f.filter((x) => x.type === 'notification').length >= (ctx.caller as La).nhs.length);
      client.ws.close();
      return { status, text: text + JSON.stringify(client.frames) };
    },
    shows: (la) => [...la.nhs, la.familyName],
  },
  'WS /la/v1/notifications/stream (bearer)': {
    route: `WS ${STREAM_PATH}`,
    laScoped: true,
    act: (ctx) => streamFlow(ctx, () => openStream(service, { token: ctx.token, after: 0 })),
    shows: (la) => [...la.nhs, la.familyName],
  },
  'WS /la/v1/notifications/stream?ticket=': {
    route: `WS ${STREAM_PATH}`,
    laScoped: true,
    act: async (ctx) => {
      const { status, ticket } = await issueTicket(ctx);
      if (!ticket) return { status, text: '' };
      return streamFlow(ctx, () => openStream(service, { ticket, after: 0 }));
    },
    shows: (la) => [...la.nhs, la.familyName],
  },
  'WS /la/v1/notifications/stream ack frames': {
    route: `WS ${STREAM_PATH}`,
    laScoped: true,
    act: async (ctx) => {
      let client: StreamClient;
      try {
        client = await openStream(service, { token: ctx.token });
      } catch (error) {
        return { status: (error as { status?: number }).status ?? -1, text: '' };
      }
      for (const eventNumber of [1, 2, 3]) client.ws.send(JSON.stringify({ type: 'ack', eventNumber }));
      await client.waitFor((f) => f.filter((x) => x.type === 'acknowledged').length === 3);
      client.ws.close();
      return { status: 101, text: JSON.stringify(client.frames) };
    },
    changed: (ctx, outcome) => {
      const frames = JSON.parse(outcome.text) as { type: string; eventNumbers?: number[] }[];
      const answered = frames.filter((f) => f.type === 'acknowledged').flatMap((f) => f.eventNumbers ?? []).sort((a, b) => a - b);
      return expectAcked(ctx, (n) => n <= 3, answered);
    },
  },
} satisfies Record<string, Endpoint>;
type EndpointName = keyof typeof ENDPOINTS;

// ---------------------------------------------------------------------------------------------

async function tokenFor(role: Role, org: Org, pair: Pair): Promise<{ token: string | undefined; sub: string }> {
  const sub = `${role}-${randomUUID()}`;
  if (role === 'none') return { token: undefined, sub };
  const laCode = org === 'other' ? pair.B.org : pair.A.org;
  if (role === 'clinician') return { token: await clinicianToken(service, org === 'n/a' ? { sub } : { sub, org: laCode }), sub };
  const code = role === 'ops' && org === 'n/a' ? 'OPS01' : laCode;
  return { token: await service.token({ role, sub, org: code, org_name: `${code} Council`, name: `Test ${role}` }), sub };
}

describe('walls: every endpoint × every role × own or other LA', () => {
  it.each(WALLS.map((wall) => [`${wall.endpoint} as ${wall.role} (${wall.org}) → ${wall.expect.status}, ${wall.expect.data}`, wall] as const))(
    '%s',
    async (_title, wall) => {
      const endpoint: Endpoint = ENDPOINTS[wall.endpoint];
      const pair = await createPair();
      await endpoint.prepare?.(pair);
      const caller = wall.org === 'own' ? pair.A : wall.org === 'other' ? pair.B : undefined;
      const other = wall.org === 'own' ? pair.B : wall.org === 'other' ? pair.A : undefined;
      const ctx: Ctx = { ...pair, role: wall.role, org: wall.org, caller, other, ...(await tokenFor(wall.role, wall.org, pair)) };
      const before = { A: await snapshot(pair.A), B: await snapshot(pair.B) };

      const outcome = await endpoint.act(ctx);

      expect(outcome.status).toBe(wall.expect.status);
      const after = { A: await snapshot(pair.A), B: await snapshot(pair.B) };
      switch (wall.expect.data) {
        case NONE:
          expectAbsent(outcome.text, [...patientData(pair.A), ...patientData(pair.B)], 'patient data');
          expectKept(after.A, before.A);
          expectKept(after.B, before.B);
          break;
        case CHILD:
          expect(outcome.text).toContain(pair.A.nhs[0]);
          expect(outcome.text).toContain(pair.A.familyName);
          expectAbsent(outcome.text, everythingOf(pair.B), 'the other LA');
          expectKept(after.B, before.B);
          // An unscheduled CareTeam or Flag search tells A; the history alone tells no one.
          expectKept(after.A, before.A, /AuditEvent/.test(wall.endpoint) ? 0 : 1);
          break;
        case TELLS:
          expect(outcome.text).toContain(pair.A.org);
          expectAbsent(outcome.text, [pair.A.familyName, ...pair.A.givenNames, ...everythingOf(pair.B)], 'a child\'s name or the other LA');
          expectKept(after.A, before.A, 1);
          expectKept(after.B, before.B);
          expect(Number((await db.query('SELECT count(*) AS n FROM accesses WHERE nhs_number = $1', [pair.A.nhs[0]])).rows[0].n), 'accesses of the child').toBe(1);
          break;
        case OWN: {
          if (!caller || !other || !endpoint.shows) throw new Error('an own-LA row needs an LA caller and what to show');
          const missing = endpoint.shows(caller).filter((v) => !outcome.text.includes(v));
          expect(missing, 'the caller misses its own LA').toEqual([]);
          expectAbsent(outcome.text, everythingOf(other), 'the other LA');
          expectKept(after[other === pair.A ? 'A' : 'B'], before[other === pair.A ? 'A' : 'B'], outcome.addedToOther ?? 0);
          break;
        }
        case STANDING: {
          if (!endpoint.changed) throw new Error('a standing row needs the change to check');
          expectAbsent(outcome.text, [...patientData(pair.A), ...patientData(pair.B)], 'patient data');
          await endpoint.changed({ ...ctx, caller: pair.A }, outcome);
          expectKept(withoutStanding(after.A), withoutStanding(before.A));
          expectKept(after.B, before.B);
          break;
        }
        case WRITES_OWN: {
          if (!caller || !other || !endpoint.changed) throw new Error('a writing row needs an LA caller and the change to check');
          expectAbsent(outcome.text, everythingOf(other), 'the other LA');
          await endpoint.changed({ ...ctx, caller }, outcome);
          expectKept(after[other === pair.A ? 'A' : 'B'], before[other === pair.A ? 'A' : 'B']);
          break;
        }
      }
    },
  );

  it('has rows for every role (own and other LA where the endpoint is an LA\'s) on every endpoint', () => {
    const roles: Role[] = ['clinician', 'la-system', 'social-worker', 'ops'];
    for (const [name, endpoint] of Object.entries(ENDPOINTS) as [EndpointName, Endpoint][]) {
      const wanted = ['none n/a', ...roles.flatMap((role) => (endpoint.laScoped ? [`${role} own`, `${role} other`] : [`${role} n/a`]))];
      const present = WALLS.filter((w) => w.endpoint === name).map((w) => `${w.role} ${w.org}`);
      expect(present.sort(), name).toEqual(wanted.sort());
    }
  });

  it('has a wall for every route the app registers, and for the stream upgrade', () => {
    const covered = new Set(Object.values(ENDPOINTS).map((e: Endpoint) => e.route));
    const registered = new Set([...registeredRoutes(service.composition.app), `WS ${STREAM_PATH}`]);
    expect([...registered].sort()).toEqual([...covered].sort());
  });
});
