import { describe, expect, it } from 'vitest';
import { dutyTeamsFrom, escalationOf, type DutyTeams, type DutyTeamsInput } from '../../src/domain/duty-teams.ts';
import { dueCutoffs, escalationFor, isDue, type WaitingAlert } from '../../src/domain/escalation.ts';
import type { Identity } from '../../src/domain/identity.ts';
import type { VisiblePlan } from '../../src/domain/lookup.ts';
import { accessNotifications } from '../../src/domain/notification.ts';
import { DEFAULT_OFFICE_HOURS } from '../../src/domain/office-hours.ts';
import type { Organisation } from '../../src/domain/organisation.ts';
import { compileSchema, createAjv } from '../../src/schemas.ts';

const MINUTE = 60_000;
// A Tuesday, 10:00 in London (GMT): in the default office hours.
const T0 = new Date('2026-03-10T10:00:00Z');
const later = (minutes: number, ms = 0) => new Date(T0.getTime() + minutes * MINUTE + ms);

function teams(input: DutyTeamsInput): DutyTeams {
  const checked = dutyTeamsFrom(input);
  if (!checked.ok) throw new Error(JSON.stringify(checked.problems));
  return checked.value;
}

const CONFIG = teams({
  teams: [
    { code: 'DAY', name: 'Day duty team', phone: '0113 496 0100', escalateAfterMinutes: 10, escalateTo: 'MGR', repeatMinutes: 5 },
    { code: 'MGR', name: 'Duty manager', phone: '0113 496 0101' },
    { code: 'EDT', name: 'Emergency Duty Team', phone: '0113 496 0199', escalateAfterMinutes: 20 },
  ],
  routing: { inHours: 'DAY', outOfHours: 'EDT' },
});
const la: Organisation = { code: 'T000001', name: 'Test Council', officeHoursPhone: null, edtPhone: null, officeHours: DEFAULT_OFFICE_HOURS, dutyTeams: CONFIG };

const plan: VisiblePlan = {
  laCode: 'T000001', nhsNumber: '9990000018', familyName: 'Testchild', givenNames: 'Alex', birthDate: '2016-05-01',
  postcode: null, addressLines: [], planType: 'CPP', lacLegalStatus: null, startDate: '2024-01-10', endDate: null, deleteDate: null, localId: 'CASE-1',
  id: '1', status: 'active', effectiveEndDate: null, updatedAt: '2026-01-01T00:00:00.000Z', pdsVerifiedAt: null,
};
const who: Identity = { sub: 'dr', name: 'Dr Test', role: 'clinician', org: 'RXX01', orgName: 'Example ED', setting: 'emergency-department', activities: ['B0107'] };

/** An access alert as the lookup made it at T0, routed to the day team. */
function accessAlert(more: Partial<WaitingAlert> = {}): WaitingAlert {
  const [made] = accessNotifications([plan], [la], who, T0);
  return {
    eventNumber: 7, type: 'access', occurredAt: T0, nhsNumber: plan.nhsNumber,
    body: made?.body as WaitingAlert['body'], escalatedAt: null, escalations: 0, ...more,
  };
}

const reportedBy = {
  name: 'Nurse Test', userId: 'nurse', role: 'clinician', sdsUserId: null, sdsRoleProfileId: null, jobRole: null,
  organisationCode: 'RXX02', organisationName: 'Example Clinic', setting: 'health-visiting', callbackPhone: '0113 496 0777',
};
const notBroughtAlert = (): WaitingAlert => {
  const { accessedBy: _a, detailsDiffer: _d, ...common } = accessAlert().body;
  return { ...accessAlert(), type: 'was-not-brought', body: { ...common, reportedBy, appointment: { date: '2026-03-09', service: 'Paediatric clinic' } } };
};

/** The escalation as the mailbox would deliver it, for the notification schema. */
const delivered = (body: object, eventNumber: number, at: Date) => ({
  eventNumber, type: 'escalation', occurredAt: at.toISOString(), ...body,
  acknowledgedAt: null, acknowledgedBy: null, acknowledgedByName: null, escalatedAt: null, escalations: 0,
});
const validNotification = compileSchema(createAjv(), 'notification.schema.json');

describe('when an alert is due', () => {
  it('first after its team\'s escalateAfterMinutes since it occurred, not a millisecond before', () => {
    expect(isDue(dueCutoffs(CONFIG, later(10, -1)), accessAlert())).toBe(false);
    expect(isDue(dueCutoffs(CONFIG, later(10)), accessAlert())).toBe(true);
  });

  it('again repeatMinutes after its last escalation, however long ago it occurred', () => {
    const escalated = accessAlert({ escalatedAt: later(12), escalations: 1 });
    expect(isDue(dueCutoffs(CONFIG, later(17, -1)), escalated)).toBe(false);
    expect(isDue(dueCutoffs(CONFIG, later(17)), escalated)).toBe(true);
  });

  it('for a team the LA has removed, after the default 15 minutes, as escalationOf says', () => {
    const orphan = accessAlert();
    orphan.body = { ...orphan.body, routedTo: { ...orphan.body.routedTo, teamCode: 'GONE' } };
    const { afterMinutes, repeatMinutes, to } = escalationOf(CONFIG, orphan.body.routedTo) ?? {};
    expect([afterMinutes, repeatMinutes, to?.teamCode]).toEqual([15, 15, 'EDT']);
    expect(isDue(dueCutoffs(CONFIG, later(15, -1)), orphan)).toBe(false);
    expect(isDue(dueCutoffs(CONFIG, later(15)), orphan)).toBe(true);
  });

  it('by each team\'s own times: a team that sets none has 15 minutes and repeats at its escalateAfterMinutes', () => {
    const cutoffs = dueCutoffs(CONFIG, T0);
    expect(cutoffs.teams.map((t) => [t.teamCode, (T0.getTime() - t.occurredBy.getTime()) / MINUTE, (T0.getTime() - t.escalatedBy.getTime()) / MINUTE])).toEqual([
      ['DAY', 10, 5], ['MGR', 15, 15], ['EDT', 20, 20],
    ]);
  });
});

describe('the escalation notification', () => {
  it('repeats an access alert to the escalation team with the child, plans and who looked, and how long it has waited', () => {
    const alert = accessAlert();
    const escalation = escalationFor(la, alert, later(10, 59_999));
    expect(escalation).toEqual({
      escalates: 7,
      nhsNumber: plan.nhsNumber,
      body: {
        subject: alert.body.subject, plan: alert.body.plan, plans: alert.body.plans,
        accessedBy: alert.body.accessedBy, detailsDiffer: alert.body.detailsDiffer,
        outOfHours: false,
        routedTo: { teamCode: 'MGR', teamName: 'Duty manager', teamPhone: '0113 496 0101', reason: 'escalation' },
        escalates: { eventNumber: 7, type: 'access', occurredAt: T0.toISOString(), routedTo: { teamCode: 'DAY', teamName: 'Day duty team', teamPhone: '0113 496 0100', reason: 'in-hours' } },
        escalation: 1,
        unacknowledgedMinutes: 10,
      },
    });
    expect(validNotification(delivered(escalation?.body ?? {}, 8, later(10)))).toBe(true);
  });

  it('numbers the repeats and marks out of hours by the time of the escalation', () => {
    const atFive = new Date('2026-03-10T17:05:00Z');
    const escalation = escalationFor(la, accessAlert({ escalatedAt: later(400), escalations: 2 }), atFive);
    expect(escalation?.body).toMatchObject({ escalation: 3, outOfHours: true, unacknowledgedMinutes: 425 });
    expect(escalation?.body.escalates.routedTo.reason).toBe('in-hours');
  });

  it('repeats a was-not-brought alert with who reported it and the appointment, and nothing of an access', () => {
    const escalation = escalationFor(la, notBroughtAlert(), later(10));
    expect(escalation?.body).toMatchObject({ reportedBy, appointment: { date: '2026-03-09', service: 'Paediatric clinic' }, escalates: { type: 'was-not-brought' } });
    expect(escalation?.body).not.toHaveProperty('accessedBy');
    expect(escalation?.body).not.toHaveProperty('detailsDiffer');
    expect(validNotification(delivered(escalation?.body ?? {}, 9, later(10)))).toBe(true);
  });

  it('is none once the LA has cleared its teams', () => {
    expect(escalationFor({ ...la, dutyTeams: null }, accessAlert(), later(60))).toBeNull();
  });
});
