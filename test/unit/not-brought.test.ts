import { describe, expect, it } from 'vitest';
import { authoriseNotBroughtReport } from '../../src/domain/access-rules.ts';
import { AppError } from '../../src/domain/app-error.ts';
import type { Identity } from '../../src/domain/identity.ts';
import type { VisiblePlan } from '../../src/domain/lookup.ts';
import { checkNotBroughtReport, notBroughtNotifications, type NotBroughtInput } from '../../src/domain/not-brought.ts';
import type { Organisation } from '../../src/domain/organisation.ts';

const FIELDS = { nhsNumber: 'n', appointmentStart: 's', appointmentEnd: 'e', service: 'v', callbackPhone: 'p' } as const;
const input = (overrides: Partial<NotBroughtInput['appointment']> & { nhsNumber?: string; callbackPhone?: string } = {}): NotBroughtInput => ({
  nhsNumber: overrides.nhsNumber ?? '999 000 0018',
  appointment: { start: overrides.start ?? '2026-06-30T23:15:00Z', end: overrides.end ?? '2026-06-30T23:45:00Z', service: overrides.service ?? ' Sleep clinic ' },
  callbackPhone: overrides.callbackPhone ?? '+44 113 496 0777',
  fields: FIELDS,
});
const AFTER = new Date('2026-07-01T09:00:00Z');

describe('checkNotBroughtReport', () => {
  it('gives the NHS number as 10 digits, the day of the appointment in England and the phone in both forms', () => {
    // 23:15 UTC on 30 June is 00:15 on 1 July in England (BST).
    expect(checkNotBroughtReport(input(), AFTER)).toEqual({
      ok: true,
      report: { nhsNumber: '9990000018', appointment: { date: '2026-07-01', service: 'Sleep clinic' }, callbackPhone: { national: '0113 496 0777', e164: '+441134960777' } },
    });
  });

  it('names every field at fault: the NHS number, an appointment still to come or ending before it starts, a phone that does not dial', () => {
    const bad = checkNotBroughtReport(input({ nhsNumber: '9990000019', start: '2026-07-01T10:00:00Z', end: '2026-07-01T09:30:00Z', service: ' ', callbackPhone: '0113 496' }), AFTER);
    expect(bad.ok ? [] : bad.problems.map((p) => p.field)).toEqual(['nhsNumber', 'appointmentStart', 'appointmentEnd', 'service', 'callbackPhone']);
  });

  it('takes an appointment that started at this very instant', () => {
    expect(checkNotBroughtReport(input({ start: AFTER.toISOString(), end: AFTER.toISOString() }), AFTER).ok).toBe(true);
  });
});

describe('notBroughtNotifications', () => {
  const who: Identity = { sub: 'gp-1', name: 'Dr GP', role: 'clinician', org: 'Y01234', orgName: 'Example Surgery', setting: 'gp', activities: ['B0170'] };
  const la = (code: string): Organisation => ({ code, name: code, officeHoursPhone: null, edtPhone: null, officeHours: { timeZone: 'Europe/London', staffed: '24/7' } });
  const plan = (laCode: string, planType: 'CPP' | 'LAC', id: string): VisiblePlan => ({
    laCode, nhsNumber: '9990000018', familyName: 'Child', givenNames: 'Sam', birthDate: '2018-01-01', postcode: null, addressLines: [],
    planType, lacLegalStatus: planType === 'LAC' ? 'S31' : null, startDate: '2025-01-01', endDate: null, deleteDate: null, localId: null,
    id, status: 'active', effectiveEndDate: null, updatedAt: '2026-01-01T00:00:00.000Z', pdsVerifiedAt: null,
  });
  const report = { nhsNumber: '9990000018', appointment: { date: '2026-07-01', service: 'Clinic' }, callbackPhone: { national: '0113 496 0777', e164: '+441134960777' } };

  it('gives each LA one notification naming only its own plans, with who reported it and the call-back number', () => {
    const made = notBroughtNotifications([plan('TA', 'CPP', '1'), plan('TB', 'LAC', '2')], [la('TA'), la('TB')], who, report, AFTER);
    expect(made.map((n) => [n.laCode, n.body.plans.map((p) => p.type)])).toEqual([['TA', ['CPP']], ['TB', ['LAC']]]);
    expect(made[0]?.body).toMatchObject({ reportedBy: { userId: 'gp-1', setting: 'gp', callbackPhone: '0113 496 0777' }, appointment: report.appointment, routedTo: null });
    expect(made[0]?.body.accessedBy).toBeUndefined();
    expect(notBroughtNotifications([], [], who, report, AFTER)).toEqual([]);
  });
});

describe('authoriseNotBroughtReport', () => {
  const as = (role: Identity['role'], activities: string[]): Identity => ({ sub: 's', name: 'n', role, org: 'O', orgName: 'O', setting: undefined, activities });
  it('lets clinicians with B0170 or B0107 report, and no one else', () => {
    expect(() => authoriseNotBroughtReport(as('clinician', ['B0170']))).not.toThrow();
    expect(() => authoriseNotBroughtReport(as('clinician', ['B0107']))).not.toThrow();
    for (const who of [as('clinician', []), as('social-worker', ['B0107']), as('la-system', ['B0170'])]) {
      expect(() => authoriseNotBroughtReport(who)).toThrow(AppError);
    }
  });
});
