import { describe, expect, it } from 'vitest';
import type { Identity } from '../../src/domain/identity.ts';
import { inactiveNumberNotifications } from '../../src/domain/inactive-nhs-number.ts';
import type { VisiblePlan } from '../../src/domain/lookup.ts';
import { accessNotifications } from '../../src/domain/notification.ts';
import { notBroughtNotifications } from '../../src/domain/not-brought.ts';
import { DEFAULT_OFFICE_HOURS } from '../../src/domain/office-hours.ts';
import type { Organisation } from '../../src/domain/organisation.ts';
import type { Plan } from '../../src/domain/plan.ts';
import { planEndedOver18Notification } from '../../src/domain/retention.ts';

// Every kind of notification marks `outOfHours` by the one rule (contactNow), bank holidays included.
const WINDOWS = { CPP: 365, LAC: 365, UCPP: 28 } as const;
const la = (officeHours: Organisation['officeHours']): Organisation => ({ code: 'T000001', name: 'Test Council', officeHoursPhone: null, edtPhone: null, officeHours });
const weekdays = la(DEFAULT_OFFICE_HOURS);
const always = la({ timeZone: 'Europe/London', staffed: '24/7' });
const plan: Plan = {
  laCode: 'T000001', nhsNumber: '9990000018', familyName: 'Testchild', givenNames: 'Alex', birthDate: '2009-12-28',
  postcode: null, addressLines: [], planType: 'CPP', lacLegalStatus: null, startDate: '2024-01-10', endDate: null, deleteDate: null, localId: null,
};
const visible: VisiblePlan = { ...plan, id: '1', status: 'active', effectiveEndDate: null, updatedAt: '2026-01-01T00:00:00.000Z', pdsVerifiedAt: null };
const who: Identity = { sub: 'dr', name: 'Dr', role: 'clinician', org: 'RXX01', orgName: 'ED', setting: 'emergency-department', activities: ['B0107'] };

const kinds = {
  access: (org: Organisation, at: Date) => accessNotifications([visible], [org], who, at)[0]?.body.outOfHours,
  'inactive-nhs-number': (org: Organisation, at: Date) =>
    inactiveNumberNotifications([plan], [org], { reason: 'invalidated', replacementNhsNumber: null }, at, at.toISOString().slice(0, 10), WINDOWS)[0]?.body.outOfHours,
  'plan-ended-over-18': (org: Organisation, at: Date) => planEndedOver18Notification(plan, org, at, at.toISOString().slice(0, 10), WINDOWS).body.outOfHours,
  'was-not-brought': (org: Organisation, at: Date) =>
    notBroughtNotifications([visible], [org], who, { nhsNumber: plan.nhsNumber, appointment: { date: '2026-01-05', service: 'Clinic' }, callbackPhone: { national: '0113 496 0777', e164: '+441134960777' } }, at)[0]?.body.outOfHours,
};

describe('outOfHours on every kind of notification', () => {
  for (const [kind, outOfHoursOf] of Object.entries(kinds)) {
    it(`${kind}: out of hours on Christmas Day and a substitute bank holiday at 10:00, in hours on a weekday, never for 24/7`, () => {
      expect(outOfHoursOf(weekdays, new Date('2026-12-25T10:00:00Z'))).toBe(true);
      expect(outOfHoursOf(weekdays, new Date('2027-12-28T10:00:00Z'))).toBe(true);
      expect(outOfHoursOf(weekdays, new Date('2026-12-02T10:00:00Z'))).toBe(false);
      expect(outOfHoursOf(always, new Date('2026-12-25T10:00:00Z'))).toBe(false);
    });
  }
});
