import { businessRuleFailed, notFound } from '../domain/app-error.ts';
import type { Identity } from '../domain/identity.ts';
import type { Organisation } from '../domain/organisation.ts';
import {
  feedHealthAt, publishingRefusal, type FeedHealth, type FeedHealthReading, type LaStanding, type LaStatus, type PublishingRefusal, type RegistrationMode,
  type RegistryRecord,
} from '../domain/registry.ts';
import type { AuditEntry, Clock, LaRegistryStore } from '../ports.ts';
import { checkedContact, type OrganisationUpdate } from './manage-organisation.ts';

/** A POST /ops/v1/las body that passed its schema (schemas/la-registration.schema.json). */
export type LaRegistration = OrganisationUpdate & { code: string };

/** One LA as an operator sees it at an instant: details, standing, its feed's health, and what its next upload would be refused with. */
export type RegistryView = { organisation: Organisation; standing: LaStanding; health: FeedHealth; refusal: PublishingRefusal | undefined };

type Deps = { registry: LaRegistryStore; clock: Clock; mode: RegistrationMode };

/** An operator's act on the registry, for the audit trail: who, when, which LA and why; never anything of a child. */
const registryAudit = (identity: Identity, at: Date, requestId: string, action: string, detail: Record<string, unknown>): AuditEntry => ({
  at, action, outcome: 'ok', identity, nhsNumber: null, unscheduled: null, requestId, detail,
});

const viewAt = (mode: RegistrationMode, now: Date) => (r: RegistryRecord): RegistryView => ({
  organisation: r.organisation, standing: r.standing, health: feedHealthAt(r.reading, now), refusal: publishingRefusal(r.organisation, r.standing, mode),
});

const unknownLa = () => notFound('no LA with this code is known (registered by an operator, or set up by its own PUT /la/v1/organisation)');

async function viewOf(deps: Deps, code: string): Promise<RegistryView> {
  const [record] = await deps.registry.read(code);
  if (!record) throw unknownLa();
  return viewAt(deps.mode, deps.clock.now())(record);
}

/** Every known LA with its standing and feed health, in code order, at the service's clock. */
export function createListRegistry(deps: Deps) {
  return async function listRegistry(): Promise<{ at: Date; las: RegistryView[] }> {
    const records = await deps.registry.read();
    const at = deps.clock.now();
    return { at, las: records.map(viewAt(deps.mode, at)) };
  };
}

/** One LA with its standing and feed health; 404 for a code no LA has. */
export function createGetRegistryEntry(deps: Deps) {
  return (code: string): Promise<RegistryView> => viewOf(deps, code);
}

/**
 * Registers an LA with its name, both phones and its hours, checked as PUT /la/v1/organisation checks
 * them; an LA that set itself up is registered with the details given. Audited. 409 when an operator
 * registered it already: its details are the LA's own to change from then on.
 */
export function createRegisterLa(deps: Deps) {
  return async function registerLa(identity: Identity, input: LaRegistration, requestId: string): Promise<RegistryView> {
    const contact = checkedContact(input);
    const audit = registryAudit(identity, deps.clock.now(), requestId, 'la-register', { laCode: input.code });
    if (!(await deps.registry.register({ code: input.code, name: input.name, ...contact }, audit)))
      throw businessRuleFailed(`LA_ALREADY_REGISTERED: an operator has registered ${input.code} already; nothing was changed (the LA changes its details with PUT /la/v1/organisation)`);
    return viewOf(deps, input.code);
  };
}

const MOVES = {
  suspend: { from: 'active', to: 'suspended', action: 'la-suspend', refused: 'LA_ALREADY_SUSPENDED: the LA is suspended already' },
  reinstate: { from: 'suspended', to: 'active', action: 'la-reinstate', refused: 'LA_NOT_SUSPENDED: the LA is not suspended' },
} as const satisfies Record<string, { from: LaStatus; to: LaStatus; action: string; refused: string }>;

/**
 * Suspends or reinstates an LA, recording who, when and why, audited. A suspended LA's uploads are
 * refused (LA_SUSPENDED), and a batch being received is refused at its commit; its plans stay served.
 */
export function createChangeLaStatus(deps: Deps) {
  return async function changeLaStatus(move: keyof typeof MOVES, identity: Identity, code: string, reason: string, requestId: string): Promise<RegistryView> {
    const { from, to, action, refused } = MOVES[move];
    const audit = registryAudit(identity, deps.clock.now(), requestId, action, { laCode: code, reason });
    const outcome = await deps.registry.changeStatus(code, from, to, reason, audit);
    if (!outcome) throw unknownLa();
    if (!outcome.changed) throw businessRuleFailed(`${refused}; nothing was changed`);
    return viewOf(deps, code);
  };
}

/**
 * The feed health the metrics export, with ages by the service's clock. A scrape asks once per gauge,
 * all at once: they share the reading under way, so a scrape costs one statement (it counts every
 * LA's plans: 0.15 to 0.4 s for a million on a two-core machine).
 */
export function createReadFeedHealth(deps: { registry: LaRegistryStore; clock: Clock }) {
  let underway: Promise<RegistryRecord[]> | undefined;
  return async function readFeedHealth(): Promise<FeedHealthReading> {
    const reading = (underway ??= deps.registry.read().finally(() => {
      underway = undefined;
    }));
    const records = await reading;
    const now = deps.clock.now();
    return records.map((r) => ({ code: r.organisation.code, standing: r.standing, health: feedHealthAt(r.reading, now) }));
  };
}
