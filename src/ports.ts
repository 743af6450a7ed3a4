import type { Acknowledgement, RecordRejection } from './domain/acknowledgement.ts';
import type { Identity } from './domain/identity.ts';
import type { DutyTeams } from './domain/duty-teams.ts';
import type { Organisation } from './domain/organisation.ts';
import type { Plan } from './domain/plan.ts';
import type { OutstandingRefusal } from './domain/refusal-worklist.ts';
import type { UsageFigures } from './domain/usage-report.ts';
import type { AccessRecord, SearchAuditTrail } from './domain/lookup.ts';
import type { Notification, NotificationBody } from './domain/notification.ts';
import type { Inactivity, PdsResult } from './domain/demographics.ts';
import type { IsoDate } from './domain/dates.ts';
import type { Over18Batch, PurgeCriteria } from './domain/retention.ts';
import type { DueCutoffs, Escalation, WaitingAlert } from './domain/escalation.ts';
import type { IdentityField } from './domain/person.ts';
import type { LaStanding, LaStatus, RegistryRecord } from './domain/registry.ts';

/** The time, injected so that tests can move it. */
export interface Clock {
  now(): Date;
}

/** Verifies a bearer token and returns who is calling; rejects with a 401 AppError. */
export interface TokenVerifier {
  verify(token: string): Promise<Identity>;
}

/** Reads and writes LA contact details. */
export interface OrganisationStore {
  get(code: string): Promise<Organisation | undefined>;
  put(organisation: Organisation): Promise<Organisation>;
  /** Replaces the LA's duty teams and routing rules; false when the LA has no contact details yet (set those first). */
  putDutyTeams(code: string, dutyTeams: DutyTeams | null): Promise<boolean>;
}

/** The LA registry (migration 0019): operators register LAs and suspend or reinstate them; it also reads each feed's health. */
export interface LaRegistryStore {
  /** The LA's standing; undefined when the LA is not known at all. */
  standingOf(code: string): Promise<LaStanding | undefined>;
  /**
   * Registers the LA with the details given (also one that set itself up, whose details they replace) at the
   * audit's time and by its identity, and audits it, in one transaction; false, changing nothing, when an
   * operator registered it already.
   */
  register(organisation: Organisation, audit: AuditEntry): Promise<boolean>;
  /**
   * Moves the LA from `from` to `to`, recording the audit's time, user and `reason`, and audits it, in one
   * transaction; undefined when the LA is not known; `changed` false, changing nothing, when it was not `from`.
   */
  changeStatus(code: string, from: LaStatus, to: LaStatus, reason: string, audit: AuditEntry): Promise<{ changed: boolean; standing: LaStanding } | undefined>;
  /** Every known LA, or the one asked for, with its standing and what the tables say of its feed, in code order. */
  read(code?: string): Promise<RegistryRecord[]>;
}

/**
 * How a batch's commit ended: done; refused because another batch took the sequence number meanwhile;
 * or refused because an operator suspended the LA while the batch was being received.
 */
export type CommitOutcome = { committed: true } | { committed: false; lastSequenceNumber: number } | { committed: false; suspended: true };

/**
 * One batch being loaded. Nothing is held open while the client sends: valid plans are staged and
 * refusals recorded in short writes, and one transaction at the end applies them, or nothing at all.
 */
export interface BatchSession {
  /** The LA's last accepted sequence number, if it has one. */
  lastSequenceNumber(): Promise<number | undefined>;
  /** The stored acknowledgement of one of the LA's batches. */
  acknowledgementOf(sequenceNumber: number): Promise<Acknowledgement | undefined>;
  /** Stages a valid plan; `verifiedAt` is when PDS confirmed it, null when it was not checked. */
  stage(index: number, plan: Plan, verifiedAt: Date | null): Promise<void>;
  /**
   * Records one refused record, for the acknowledgement's pages and, under `nhsNumber` (the record's own,
   * when valid), for the LA's refusals worklist. Records the withdrawal below refuses are kept under theirs.
   */
  refuse(rejection: RecordRejection, nhsNumber?: string | null): Promise<void>;
  /**
   * Withdraws the staged plans whose identity fields (IDENTITY_FIELDS) disagree with the LA's other
   * plans of the same NHS number that the batch leaves as they are, or, where it leaves none, with
   * the batch's other records of it; returns each withdrawn record's index and the fields at odds.
   */
  withdrawConflicting(): Promise<{ index: number; fields: IdentityField[] }[]>;
  /**
   * In one transaction, unless a batch with this or a higher sequence number committed meanwhile or the LA
   * is suspended (checked under a lock a suspension waits for):
   * applies the staged plans (upserts, and removals for a delete date), and stores the acknowledgement
   * and its audit row (the uploader is the audit's identity).
   */
  commit(acknowledgement: Acknowledgement, audit: AuditEntry): Promise<CommitOutcome>;
  /** Discards what the batch staged, frees the LA's upload slot and, with an audit entry, records why. */
  abort(audit?: AuditEntry): Promise<void>;
}

/** Opens batch sessions, one at a time per LA across every instance. */
export interface UploadStore {
  /** Starts a batch holding the LA's upload slot; undefined while another upload of the LA holds it. The LA must already be known. */
  open(laCode: string, uploadId: string): Promise<BatchSession | undefined>;
  /**
   * Starts a dry run of a batch: a session that reads and stages like a batch's, so that every check runs,
   * records no refusal, and whose commit keeps nothing but its audit row. One dry run at a time per LA, apart
   * from the LA's upload slot; undefined while another dry run of the LA holds its slot.
   */
  openDryRun(laCode: string, uploadId: string): Promise<BatchSession | undefined>;
  /** A committed batch's refused records after an index, in index order; undefined if the LA has no such batch. */
  refusals(laCode: string, uploadId: string, after: number, limit: number): Promise<RecordRejection[] | undefined>;
  /** The LA's refusals worklist after an NHS number, in NHS number order, and how many it holds in all. */
  outstandingRefusals(laCode: string, after: string | null, limit: number): Promise<{ refusals: OutstandingRefusal[]; total: number }>;
  recordAudit(entry: AuditEntry): Promise<void>;
}

/** Usage figures read from what the service keeps (accesses' notifications, the audit trail, the outbox) over an interval. */
export interface UsageStore {
  /**
   * The figures of each LA (only `laCode`'s, when given) from `from` to `to`, and of them all together: counts
   * are then the LAs' sums, the acknowledgement times those of every LA's alerts taken together.
   */
  usage(range: { from: Date; to: Date }, laCode?: string): Promise<{ las: Map<string, UsageFigures>; total: UsageFigures }>;
  /** The LAs known (code and name), in code order. */
  las(laCode?: string): Promise<{ code: string; name: string }[]>;
}

/** A plan in the LA's extract: as sent, with when PDS last confirmed it (null: never checked). */
export type ExtractPlan = Plan & { pdsVerifiedAt: string | null };

export type PlanPage = { plans: ExtractPlan[]; next: string | null };

/** The register of plans. */
export interface PlanStore {
  listForLa(laCode: string, page: { after: string | null; limit: number }): Promise<PlanPage>;
}

/** What readiness depends on. */
export interface ReadinessProbe {
  check(): Promise<Record<string, { ok: boolean; detail?: string }>>;
}

/** A plan as held, with its row id and last update (for the FHIR view). */
export type HeldPlan = Plan & { id: string; updatedAt: string; pdsVerifiedAt: string | null };

/** One entry of the audit trail: who did what to which NHS number, and how it ended. */
export type AuditEntry = {
  /** When the service saw it; the trail records the database's clock instead (migration 0013). */
  at: Date;
  action: string;
  outcome: 'found' | 'not-found' | 'denied' | 'invalid' | 'unavailable' | 'ok';
  identity: Identity;
  nhsNumber: string | null;
  unscheduled: boolean | null;
  requestId: string;
  detail?: Record<string, unknown>;
};

/** Reads the register for care settings and records what they saw. */
export interface LookupStore {
  findByNhsNumber(nhsNumber: string): Promise<{ plans: HeldPlan[]; organisations: Organisation[] }>;
  /**
   * Audits the search and, unless it repeats one by the same user within 24 hours, records the access and queues the
   * notifications, in one transaction; returns the notifications queued and the child's `historyLimit` latest accesses,
   * this one included.
   */
  recordAccess(
    audit: AuditEntry, notifications: { laCode: string; body: NotificationBody }[], historyLimit: number,
  ): Promise<{ created: { laCode: string; eventNumber: number }[]; history: AccessRecord[] }>;
  /** Audits a search that records no access, in the trail `searchAuditTrailOf` chose; returns the child's `historyLimit` latest accesses. */
  recordAudit(audit: AuditEntry, trail: SearchAuditTrail, historyLimit: number): Promise<AccessRecord[]>;
}

/** Records reports that a child was not brought to an appointment: notifications and audit, never an access. */
export interface NotBroughtStore {
  /**
   * In one transaction: queues the `was-not-brought` notifications (each LA's counter row locked in LA-code
   * order) and then writes the audit row, in the trail given, with the queued LAs and event numbers added to
   * its detail (`notified`); returns those, in LA-code order. With no notification it writes the audit row alone.
   */
  record(
    audit: AuditEntry, trail: SearchAuditTrail, notifications: { laCode: string; body: NotificationBody }[],
  ): Promise<{ laCode: string; eventNumber: number }[]>;
}

export type AckSelector = { upTo: number } | { eventNumbers: number[] };

/** One acknowledgement: the event numbers it marked (an alert's original and its escalations together), who and when. */
export type NotificationAck = {
  /** Per LA, increasing; acknowledgements commit in this order, with gaps where one marked nothing. */
  ackNumber: number;
  eventNumbers: number[];
  acknowledgedAt: string;
  acknowledgedBy: string;
  acknowledgedByName: string | null;
};

/** Which of an LA's notifications a reader wants: all, or a team's own and those routed to no team. */
export type NotificationFilter = { team?: string };

/** Older notifications, newest first: before an event number, about one child (NHS number), or by a name the child's contains. */
export type NotificationSearch = NotificationFilter & { before?: number; nhsNumber?: string; name?: string; limit: number };

/** An LA's mailbox over the notification outbox. */
export interface NotificationStore {
  list(laCode: string, after: number, limit: number, filter?: NotificationFilter): Promise<Notification[]>;
  /** The LA's notifications matching a search, newest first. */
  search(laCode: string, query: NotificationSearch): Promise<Notification[]>;
  /**
   * Marks the selected, not yet acknowledged notifications of one LA, with the rest of each one's alert (an
   * escalation's original and its other escalations), as acknowledged by the audit's identity at its time, and
   * audits it with the marked event numbers in its detail, in one transaction; returns the event numbers it marked.
   */
  acknowledge(laCode: string, selector: AckSelector, audit: AuditEntry): Promise<number[]>;
  /** The LA's acknowledgements after an acknowledgement number, oldest first, at most `limit` of them. */
  acknowledgementsAfter(laCode: string, after: number, limit: number): Promise<NotificationAck[]>;
  lastEventNumber(laCode: string): Promise<number>;
  /** The LA's last event number and last acknowledgement number. */
  counters(laCode: string): Promise<{ lastEventNumber: number; lastAckNumber: number }>;
  /** The same for several LAs in one read; an LA with nothing yet is absent. */
  countersOf(laCodes: string[]): Promise<Map<string, { lastEventNumber: number; lastAckNumber: number }>>;
  /** Unacknowledged notifications per LA, for metrics. */
  unacknowledgedByLa(): Promise<Map<string, number>>;
}

/** Wake-ups when an LA's outbox grows (undefined: any LA may have new rows). Only a hint: the outbox is the truth. */
export interface OutboxWakeups {
  start(onWake: (laCode: string | undefined) => void): Promise<void>;
  stop(): Promise<void>;
  isListening(): boolean;
}

/** Single-use, short-lived tickets that let a browser open the stream without a token in the URL. */
export interface TicketStore {
  issue(identity: Identity, at: Date, ttlSeconds: number): Promise<{ ticket: string; expiresAt: string }>;
  redeem(ticket: string, at: Date): Promise<Identity | undefined>;
}

/** What the service counts for operators. Labels never carry patient data: LA codes, routes, outcomes. */
export interface Metrics {
  requestObserved(method: string, route: string, status: number, seconds: number): void;
  lookupObserved(resource: string, kind: string, outcome: string): void;
  notificationsCreated(laCode: string, count: number): void;
  notificationDelivered(laCode: string, lagSeconds: number): void;
  socketsChanged(delta: number): void;
  /** Rows the retention jobs ended or purged, by kind (`ended-over-18`, `plans`, `notifications`, `audit`, `unmatched-searches`, `refusals`). */
  retentionApplied(kind: string, count: number): void;
  /** Escalation notifications this instance queued for an LA's unacknowledged alerts. */
  alertsEscalated(laCode: string, count: number): void;
  exposition(): Promise<{ contentType: string; body: string }>;
}

/** The NHS Personal Demographics Service: looks one person up by NHS number; never throws, answers `unavailable` instead. */
export interface Demographics {
  lookUp(nhsNumber: string): Promise<PdsResult>;
}

/** What became of one held NHS number that PDS no longer confirms. */
export type Retirement = Inactivity & { nhsNumber: string; at: Date };

/** Held NHS numbers and when PDS should next confirm each is still current; safe with several instances. */
export interface NhsNumberRecheckStore {
  /** Schedules newly held numbers `intervalMs` ahead, then leases up to `limit` due ones that no other instance holds. */
  claimDue(now: Date, limit: number, leaseMs: number, intervalMs: number): Promise<string[]>;
  /** Records that PDS still confirms the number, and when to ask again. */
  markChecked(nhsNumber: string, checkedAt: Date, nextCheckAt: Date): Promise<void>;
  /** In one transaction: removes the number's plans, queues the notifications built from them, audits it and stops tracking it. */
  retire(
    retirement: Retirement,
    build: (plans: HeldPlan[], organisations: Organisation[]) => { laCode: string; body: NotificationBody }[],
  ): Promise<{ laCode: string; eventNumber: number }[]>;
}

/** A row as held, with camelCase keys in a stable order and instants as ISO strings. */
export type HeldRow = Readonly<Record<string, unknown>>;

/** Everything held about one NHS number, read in one consistent snapshot. */
export type SubjectAccessSnapshot = {
  plans: HeldRow[];
  accesses: HeldRow[];
  notifications: HeldRow[];
  auditEntries: HeldRow[];
  /** Audited searches that found no visible plan for the person, kept only for a short period. */
  unmatchedSearches: HeldRow[];
  pdsRechecks: HeldRow[];
  /** Records about the person in batches still being received (staged, not yet loaded; refused ones with `refused: true`). */
  uploadsInProgress: HeldRow[];
  /** The LAs' refusals worklist rows of the person: the NHS number with codes, never more. */
  refusedRecords: HeldRow[];
  /** Tables with an NHS number column that the export does not read; an export must never silently miss one. */
  uncoveredTables: string[];
};

/** Reads what the service holds about one person (the right of access), and audits each export. */
export interface SubjectAccessStore {
  readSnapshot(nhsNumber: string): Promise<SubjectAccessSnapshot>;
  recordAudit(entry: AuditEntry): Promise<void>;
}

/** What one bounded transaction of the retention jobs changed, and whether more may be due now. */
export type RetentionBatch = { changed: number; more: boolean };

/** The steps of one retention pass, each a bounded transaction audited (counts only) when it changed anything. */
export interface RetentionWork {
  /** Marks up to `limit` unhandled CPP/LAC plans of subjects born on or before the date, setting the end dates and queuing the notifications `decide` returns. */
  endPlansOver18(
    bornOnOrBefore: IsoDate,
    limit: number,
    at: Date,
    decide: (plans: HeldPlan[], organisations: Organisation[]) => Over18Batch,
  ): Promise<RetentionBatch & { notified: { laCode: string; eventNumber: number }[] }>;
  /** Deletes up to `limit` plans past their window or with a delete date, and what only existed for people no longer held. */
  purgePlans(criteria: PurgeCriteria, limit: number, at: Date): Promise<RetentionBatch & { peopleForgotten: number }>;
  /** Deletes up to `limit` acknowledged notifications that occurred and were acknowledged before the cutoff. */
  purgeNotifications(before: Date, limit: number, at: Date): Promise<RetentionBatch>;
  /**
   * Deletes about `limit` of the oldest audit rows recorded before the cutoff (at least one when any can go), keeping the chain
   * verifiable: each batch is one purge record in the audit trail, and none removes rows the database's clock says are younger
   * than `retentionDays`.
   */
  purgeAudit(before: Date, limit: number, at: Date, retentionDays: number): Promise<RetentionBatch>;
  /** The same for the audited searches that found no visible plan, in their own chain; their purge records go to the audit trail. */
  purgeUnmatchedSearches(before: Date, limit: number, at: Date, retentionDays: number): Promise<RetentionBatch>;
  /** Deletes up to `limit` rows of the LAs' refusals worklists last refused before the cutoff. */
  purgeRefusals(before: Date, limit: number, at: Date): Promise<RetentionBatch>;
}

/** Runs retention passes one at a time across every instance sharing the database. */
export interface RetentionStore {
  /** Runs the pass holding the service-wide retention lock; resolves undefined at once when another instance holds it. */
  exclusively<T>(pass: (work: RetentionWork) => Promise<T>): Promise<T | undefined>;
}

/** One LA's waiting alerts, inside a transaction that holds the LA's event counter row (so no other writer of its notifications runs meanwhile). */
export interface EscalationWork {
  /** The LA as it is now, duty teams included. */
  organisation(): Promise<Organisation | undefined>;
  /** Up to `limit` of its waiting alerts due by the cutoffs, oldest event first, locked to the end of the transaction. */
  dueAlerts(cutoffs: DueCutoffs, limit: number): Promise<WaitingAlert[]>;
  /**
   * Queues the escalations with the LA's next event numbers, marks each original escalated at `at` (one more
   * escalation), and audits each, last; returns the event numbers queued and the alerts they escalate, in order.
   */
  escalate(escalations: Escalation[], at: Date): Promise<{ eventNumber: number; escalates: number }[]>;
}

/** Unacknowledged alerts and their escalations, safe with any number of instances working at once. */
export interface EscalationStore {
  /** The LAs with duty teams and alerts waiting (unacknowledged, routed to a team), those waiting longest first. */
  waitingLas(): Promise<Organisation[]>;
  /** Whether any of the LA's waiting alerts is due by the cutoffs: a read that takes no lock. */
  anyDue(laCode: string, cutoffs: DueCutoffs): Promise<boolean>;
  /** Runs `work` in one transaction holding the LA's event counter row; undefined at once when another instance is escalating the LA's alerts. */
  forLa<T>(laCode: string, work: (la: EscalationWork) => Promise<T>): Promise<T | undefined>;
  /** When each LA's oldest waiting alert occurred, for metrics. */
  oldestWaitingByLa(): Promise<Map<string, Date>>;
}
