import { describe, expect, it } from 'vitest';
import { noUsage, reportMonthOf, shortfallsOf } from '../../src/domain/usage-report.ts';
import { worklistKeyOf } from '../../src/domain/refusal-worklist.ts';
import { toLaUsageCsv } from '../../src/http/usage-report.body.ts';

const DAY = 86_400_000;

describe('a report month (Europe/London)', () => {
  it.each([
    ['2026-01', '2026-01-01T00:00:00.000Z', '2026-02-01T00:00:00.000Z'],
    // The clocks go forward on 29 March 2026 and back on 25 October 2026.
    ['2026-03', '2026-03-01T00:00:00.000Z', '2026-03-31T23:00:00.000Z'],
    ['2026-07', '2026-06-30T23:00:00.000Z', '2026-07-31T23:00:00.000Z'],
    ['2026-10', '2026-09-30T23:00:00.000Z', '2026-11-01T00:00:00.000Z'],
    ['2026-12', '2026-12-01T00:00:00.000Z', '2027-01-01T00:00:00.000Z'],
  ])('%s runs from %s to %s', (month, from, to) => {
    expect(reportMonthOf(month)).toEqual({ month, from: new Date(from), to: new Date(to) });
  });

  it.each(['2026-13', '2026-00', '2026-1', '26-01', '1999-12', '2026-01-01', ' 2026-01', ''])('refuses %j', (text) => {
    expect(reportMonthOf(text)).toBeUndefined();
  });
});

describe('what a report cannot show', () => {
  const month = reportMonthOf('2026-07') as NonNullable<ReturnType<typeof reportMonthOf>>;
  const retention = { notificationDays: 90, auditDays: 2555 };
  const all = ['unscheduledAccesses', 'silentReads', 'notifications', 'acknowledgement'];

  it('nothing, for a month over and within the retention periods', () => {
    expect(shortfallsOf(month, new Date('2026-08-15T12:00:00Z'), retention)).toEqual([]);
  });
  it('the whole month, before it starts or while it runs', () => {
    expect(shortfallsOf(month, new Date('2026-06-30T22:59:59Z'), retention)).toEqual([{ reason: 'month-not-started', metrics: all }]);
    expect(shortfallsOf(month, new Date('2026-07-31T22:59:59Z'), retention)).toEqual([{ reason: 'month-not-ended', metrics: all }]);
  });
  it('what the outbox and the audit trail may have purged, and from when all is held', () => {
    const now = new Date(month.from.getTime() + 90 * DAY + 1);
    expect(shortfallsOf(month, now, retention)).toEqual([
      { reason: 'notification-retention', metrics: ['unscheduledAccesses', 'notifications', 'acknowledgement'], heldFrom: new Date(month.from.getTime() + 1).toISOString() },
    ]);
    expect(shortfallsOf(month, new Date(month.from.getTime() + 90 * DAY), retention)).toEqual([]);
    expect(shortfallsOf(month, new Date('2034-01-01T00:00:00Z'), retention).map((s) => s.reason)).toEqual(['notification-retention', 'audit-retention']);
  });
});

describe('the refusals worklist key', () => {
  it('is the record\'s own NHS number, when valid and not the field refused', () => {
    expect(worklistKeyOf({ nhsNumber: '943 476 5919' }, 'planType')).toBe('9434765919');
    expect(worklistKeyOf({ nhsNumber: '9434765919' }, 'nhsNumber')).toBeNull();
    expect(worklistKeyOf({ nhsNumber: '4857773456' }, 'planType')).toBeNull();
    expect(worklistKeyOf({ nhsNumber: 9434765919 }, 'planType')).toBeNull();
    expect(worklistKeyOf(['9434765919'], '(record)')).toBeNull();
    expect(worklistKeyOf(null, '(record)')).toBeNull();
  });
});

describe('the usage report as CSV', () => {
  it('quotes what needs it, and disarms text a spreadsheet would run as a formula', () => {
    const figures = noUsage();
    figures.unscheduledAccesses = {
      total: 3, bySetting: [{ setting: null, count: 3 }],
      byOrganisation: [{ code: 'X1', name: '=HYPERLINK("https://example.invalid")', count: 2 }, { code: 'X2', name: 'St Mary\'s, "North"', count: 1 }],
    };
    const month = reportMonthOf('2026-01') as NonNullable<ReturnType<typeof reportMonthOf>>;
    const csv = toLaUsageCsv({ month, generatedAt: new Date('2026-02-03T04:05:06.000Z'), shortfalls: [], la: { code: 'LA1', name: '+Council', figures } });
    const lines = csv.split('\r\n');
    expect(lines.slice(0, 12)).toEqual([
      'la,metric,key,label,value',
      ',month,,,2026-01', ',timeZone,,,Europe/London', ',from,,,2026-01-01T00:00:00.000Z', ',to,,,2026-02-01T00:00:00.000Z',
      ',generatedAt,,,2026-02-03T04:05:06.000Z', ',complete,,,true',
      "LA1,name,,,'+Council",
      'LA1,unscheduledAccesses,,,3',
      'LA1,unscheduledAccesses.bySetting,,,3',
      `LA1,unscheduledAccesses.byOrganisation,X1,"'=HYPERLINK(""https://example.invalid"")",2`,
      `LA1,unscheduledAccesses.byOrganisation,X2,"St Mary's, ""North""",1`,
    ]);
    expect(lines.at(-1)).toBe('');
  });
});
