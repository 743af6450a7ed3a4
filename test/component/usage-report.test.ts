import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSchema } from '../../src/schemas.ts';
import { movableClock } from '../support/clock.ts';
import { laToken, startTestService, uploadJson, type TestService } from '../support/service.ts';
import { childRecord, syntheticLaCode, syntheticNhsNumber } from '../support/synthetic.ts';
import { NHS_SYSTEM } from '../support/care-setting.ts';
import { fhirJsonPost, notBroughtReport } from '../support/not-brought.ts';

// Usage reports (issue 16, item 4): GET /la/v1/reports/usage and GET /ops/v1/reports/usage, checked
// against a table made by hand from a known set of lookups, reports and acknowledgements over two
// months and two LAs.

const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default;
const SECOND = 1000;
const MINUTE = 60 * SECOND;

const clock = movableClock();
let service: TestService;
let db: pg.Pool;
beforeAll(async () => {
  service = await startTestService({ clock, env: { RATE_LIMIT_PER_SECOND: '0' } });
  db = new pg.Pool({ connectionString: service.databaseUrl, max: 2 });
});
afterAll(async () => {
  await db?.end();
  await service?.stop();
});

/** A calendar month of England as PostgreSQL reckons it, offset from the one the database is in now. */
async function monthAt(offset: number) {
  const { rows } = await db.query<{ month: string; from: Date; to: Date }>(
    `SELECT to_char(m, 'YYYY-MM') AS month, m AT TIME ZONE 'Europe/London' AS from, (m + interval '1 month') AT TIME ZONE 'Europe/London' AS to
     FROM (SELECT date_trunc('month', now() AT TIME ZONE 'Europe/London') + $1 * interval '1 month' AS m) x`, [offset],
  );
  const row = rows[0] as { month: string; from: Date; to: Date };
  return { month: row.month, from: row.from.toISOString(), to: row.to.toISOString(), start: row.from.getTime() };
}

const clinician = (sub: string, org: string, orgName: string, setting: string, activities = ['B0107']) =>
  service.token({ role: 'clinician', sub, name: `Dr ${sub}`, org, org_name: orgName, setting, activities });

async function lookUp(token: string, nhsNumber: string, { type = 'CareTeam', silent = false } = {}) {
  const res = await service.fetch(`/cpis/FHIR/R4/${type}?patient:identifier=${encodeURIComponent(`${NHS_SYSTEM}|${nhsNumber}`)}`, {
    token, headers: { IsUnscheduledAccessEvent: silent ? 'false' : 'true' },
  });
  expect(res.status).toBe(200);
}

async function ack(token: string, eventNumber: number) {
  const res = await service.fetch('/la/v1/notifications/ack', { method: 'POST', token, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ eventNumbers: [eventNumber] }) });
  expect((await res.json()).acknowledged).toEqual([eventNumber]);
}

const at = (instant: number) => clock.set(new Date(instant));

const validate = (() => {
  const ajv = new Ajv({ strict: true, allErrors: true });
  addFormats(ajv);
  for (const file of ['notification.schema.json', 'upload-record.schema.json', 'usage-report.schema.json']) ajv.addSchema(readSchema(file) as object);
  return { la: ajv.getSchema('https://cpis.example/schemas/usage-report.schema.json')!, all: ajv.compile(readSchema('usage-report-all-las.schema.json') as object) };
})();

const zeroTypes = { access: 0, 'inactive-nhs-number': 0, 'plan-ended-over-18': 0, 'was-not-brought': 0, escalation: 0 };

describe('usage reports', () => {
  it('count each LA\'s accesses, silent reads, notifications and acknowledgement times, month by month, as the table made by hand says', async () => {
    const [M1, M2] = [await monthAt(-1), await monthAt(0)];
    const [A, B] = [syntheticLaCode(), syntheticLaCode()];
    const [tokenA, tokenB] = [await laToken(service, A), await laToken(service, B)];
    // A routes its alerts to a day team that is told again after 10 minutes unacknowledged.
    const teams = { teams: [{ code: 'DAY', name: 'Day team', phone: '0113 496 0100', escalateAfterMinutes: 10 }], routing: { inHours: 'DAY', outOfHours: 'DAY' } };
    expect((await service.fetch('/la/v1/duty-teams', { method: 'PUT', token: tokenA, headers: { 'content-type': 'application/json' }, body: JSON.stringify(teams) })).status).toBe(200);
    const [a1, a2, ab, b1] = [childRecord(), childRecord(), childRecord(), childRecord()];
    expect((await uploadJson(service, tokenA, 1, [a1, a2, ab])).status).toBe(201);
    expect((await uploadJson(service, tokenB, 1, [ab, b1])).status).toBe(201);
    const nhs = (r: Record<string, unknown>) => r.nhsNumber as string;

    const ed = await clinician('dr-ed', 'RXX01', 'Example General Hospital ED', 'emergency-department');
    const ed2 = await clinician('dr-ed-2', 'RXX01', 'Example General Hospital ED', 'emergency-department');
    const utc = await clinician('dr-utc', 'RYY02', 'Riverside Urgent Treatment Centre', 'urgent-treatment-centre');
    const gp = await clinician('nurse-gp', 'Y01234', 'Example Surgery', 'gp', ['B0170']);

    // Month 1, from T: A's events 1-5, B's 1-2.
    const T = M1.start + 10 * 24 * 60 * MINUTE + 10 * 60 * MINUTE;
    at(T);                      await lookUp(ed, nhs(a1));          // A#1 access, ED
    at(T + 60 * SECOND);        await ack(tokenA, 1);                // A#1 acknowledged after 60 s
    at(T + 90 * SECOND);        await lookUp(ed, nhs(a1));          // the same user, place and child within 24 h: no access
    at(T + 120 * SECOND);       await lookUp(utc, nhs(a1));         // A#2 access, UTC
    at(T + 180 * SECOND);       await lookUp(ed, nhs(ab));          // A#3 and B#1 access, ED
    at(T + 210 * SECOND);       await ack(tokenB, 1);                // B#1 acknowledged after 30 s
    at(T + 240 * SECOND);       await ack(tokenA, 2);                // A#2 acknowledged after 120 s
    at(T + 300 * SECOND);       await lookUp(ed2, nhs(b1), { type: 'Flag' }); // B#2 access, ED (another clinician), never acknowledged
    at(T + 330 * SECOND);                                            // A#4 was-not-brought, never acknowledged
    expect((await service.fetch('/cpis/FHIR/R4/Communication', { token: gp, ...fhirJsonPost(notBroughtReport(nhs(a2), { start: new Date(T) })) })).status).toBe(201);
    at(T + 780 * SECOND);       await ack(tokenA, 3);                // A#3 acknowledged after 600 s
    at(T + 1200 * SECOND);      expect((await service.composition.escalateAlerts()).escalated).toBe(1); // A#5 escalates A#4

    // Month 2 (the database's own, so that its clock puts the silent reads there too).
    const U = Math.max(M2.start + 30 * MINUTE, Date.now() - 10 * MINUTE);
    at(U);                      await lookUp(utc, nhs(b1));         // B#3 access, UTC, never acknowledged
    at(U + 60 * SECOND);        await lookUp(ed, nhs(a2));          // A#6 access, ED
    at(U + 360 * SECOND);       await ack(tokenA, 6);                // A#6 acknowledged after 300 s
    await lookUp(gp, nhs(a1), { silent: true });                    // silent: A
    await lookUp(gp, nhs(ab), { type: 'Flag', silent: true });      // silent: A and B
    await lookUp(gp, nhs(ab), { type: 'AuditEvent', silent: true }); // the history, not the flag: not a silent read
    await lookUp(gp, syntheticNhsNumber(), { silent: true });       // no plan: not a read of anyone's child
    expect((await (await service.fetch('/la/v1/notifications?after=0', { token: tokenA })).json()).notifications.map((n: { type: string }) => n.type))
      .toEqual(['access', 'access', 'access', 'was-not-brought', 'escalation', 'access']);

    // The table, by hand.
    const G = U + 600 * SECOND;
    at(G);
    const frame = (m: typeof M1, complete: boolean) => ({
      month: m.month, timeZone: 'Europe/London', from: m.from, to: m.to, generatedAt: new Date(G).toISOString(), complete,
      shortfalls: complete ? [] : [{ reason: 'month-not-ended', metrics: ['unscheduledAccesses', 'silentReads', 'notifications', 'acknowledgement'] }],
    });
    const laA = { code: A, name: `${A} Council` };
    const laB = { code: B, name: `${B} Council` };
    const figures = {
      A1: {
        unscheduledAccesses: {
          total: 3,
          bySetting: [{ setting: 'emergency-department', count: 2 }, { setting: 'urgent-treatment-centre', count: 1 }],
          byOrganisation: [{ code: 'RXX01', name: 'Example General Hospital ED', count: 2 }, { code: 'RYY02', name: 'Riverside Urgent Treatment Centre', count: 1 }],
        },
        silentReads: { total: 0 },
        notifications: { total: 5, byType: { ...zeroTypes, access: 3, 'was-not-brought': 1, escalation: 1 } },
        acknowledgement: { alerts: 4, acknowledged: 3, p50Seconds: 120, p95Seconds: 552 },
      },
      B1: {
        unscheduledAccesses: { total: 2, bySetting: [{ setting: 'emergency-department', count: 2 }], byOrganisation: [{ code: 'RXX01', name: 'Example General Hospital ED', count: 2 }] },
        silentReads: { total: 0 },
        notifications: { total: 2, byType: { ...zeroTypes, access: 2 } },
        acknowledgement: { alerts: 2, acknowledged: 1, p50Seconds: 30, p95Seconds: 30 },
      },
      A2: {
        unscheduledAccesses: { total: 1, bySetting: [{ setting: 'emergency-department', count: 1 }], byOrganisation: [{ code: 'RXX01', name: 'Example General Hospital ED', count: 1 }] },
        silentReads: { total: 2 },
        notifications: { total: 1, byType: { ...zeroTypes, access: 1 } },
        acknowledgement: { alerts: 1, acknowledged: 1, p50Seconds: 300, p95Seconds: 300 },
      },
      B2: {
        unscheduledAccesses: { total: 1, bySetting: [{ setting: 'urgent-treatment-centre', count: 1 }], byOrganisation: [{ code: 'RYY02', name: 'Riverside Urgent Treatment Centre', count: 1 }] },
        silentReads: { total: 1 },
        notifications: { total: 1, byType: { ...zeroTypes, access: 1 } },
        acknowledgement: { alerts: 1, acknowledged: 0, p50Seconds: null, p95Seconds: null },
      },
      // Both LAs: counts summed, times over the four acknowledged alerts (30, 60, 120, 600 s).
      all1: {
        unscheduledAccesses: {
          total: 5,
          bySetting: [{ setting: 'emergency-department', count: 4 }, { setting: 'urgent-treatment-centre', count: 1 }],
          byOrganisation: [{ code: 'RXX01', name: 'Example General Hospital ED', count: 4 }, { code: 'RYY02', name: 'Riverside Urgent Treatment Centre', count: 1 }],
        },
        silentReads: { total: 0 },
        notifications: { total: 7, byType: { ...zeroTypes, access: 5, 'was-not-brought': 1, escalation: 1 } },
        acknowledgement: { alerts: 6, acknowledged: 4, p50Seconds: 90, p95Seconds: 528 },
      },
    };

    const report = async (path: string, token: string) => {
      const res = await service.fetch(path, { token });
      expect(res.status).toBe(200);
      return res.json();
    };
    const [a1Report, b1Report, a2Report, b2Report] = [
      await report(`/la/v1/reports/usage?month=${M1.month}`, tokenA), await report(`/la/v1/reports/usage?month=${M1.month}`, tokenB),
      await report(`/la/v1/reports/usage?month=${M2.month}`, tokenA), await report(`/la/v1/reports/usage?month=${M2.month}`, await laToken(service, B, 'social-worker')),
    ];
    expect(a1Report).toEqual({ ...frame(M1, true), la: laA, ...figures.A1 });
    expect(b1Report).toEqual({ ...frame(M1, true), la: laB, ...figures.B1 });
    expect(a2Report).toEqual({ ...frame(M2, false), la: laA, ...figures.A2 });
    expect(b2Report).toEqual({ ...frame(M2, false), la: laB, ...figures.B2 });
    for (const r of [a1Report, b1Report, a2Report, b2Report]) expect(validate.la(r), JSON.stringify(validate.la.errors)).toBe(true);

    // Operators: every LA, in code order, and both together; nothing of a child.
    const ops = await service.token({ role: 'ops', sub: 'ops-reports', org: 'OPS01' });
    const all = await report(`/ops/v1/reports/usage?month=${M1.month}`, ops);
    const rows = [{ la: laA, ...figures.A1 }, { la: laB, ...figures.B1 }].sort((x, y) => x.la.code.localeCompare(y.la.code));
    expect(all).toEqual({ ...frame(M1, true), las: rows, total: figures.all1 });
    expect(validate.all(all), JSON.stringify(validate.all.errors)).toBe(true);
    expect(JSON.stringify(all)).not.toMatch(new RegExp([a1, a2, ab, b1].flatMap((r) => [nhs(r), r.familyName as string]).join('|')));

    // The same tables as CSV, row by row.
    const csv = await service.fetch(`/la/v1/reports/usage?month=${M1.month}&format=csv`, { token: tokenA });
    expect([csv.status, csv.headers.get('content-type'), csv.headers.get('content-disposition')])
      .toEqual([200, 'text/csv; charset=utf-8', `attachment; filename=cpis-usage-${A}-${M1.month}.csv`]);
    const head = [
      'la,metric,key,label,value', `,month,,,${M1.month}`, ',timeZone,,,Europe/London', `,from,,,${M1.from}`, `,to,,,${M1.to}`,
      `,generatedAt,,,${new Date(G).toISOString()}`, ',complete,,,true',
    ];
    const rowsOf = (la: string, f: typeof figures.A1) => [
      `${la},unscheduledAccesses,,,${f.unscheduledAccesses.total}`,
      ...f.unscheduledAccesses.bySetting.map((s) => `${la},unscheduledAccesses.bySetting,${s.setting},,${s.count}`),
      ...f.unscheduledAccesses.byOrganisation.map((o) => `${la},unscheduledAccesses.byOrganisation,${o.code},${o.name},${o.count}`),
      `${la},silentReads,,,${f.silentReads.total}`, `${la},notifications,,,${f.notifications.total}`,
      ...Object.entries(f.notifications.byType).map(([type, n]) => `${la},notifications.byType,${type},,${n}`),
      `${la},acknowledgement.alerts,,,${f.acknowledgement.alerts}`, `${la},acknowledgement.acknowledged,,,${f.acknowledgement.acknowledged}`,
      `${la},acknowledgement.p50Seconds,,,${f.acknowledgement.p50Seconds ?? ''}`, `${la},acknowledgement.p95Seconds,,,${f.acknowledgement.p95Seconds ?? ''}`,
    ];
    expect((await csv.text()).split('\r\n')).toEqual([...head, `${A},name,,,${A} Council`, ...rowsOf(A, figures.A1), '']);
    // One literal check of the layout, whatever the helper above says.
    expect(rowsOf(A, figures.A1).slice(0, 6)).toEqual([
      `${A},unscheduledAccesses,,,3`, `${A},unscheduledAccesses.bySetting,emergency-department,,2`, `${A},unscheduledAccesses.bySetting,urgent-treatment-centre,,1`,
      `${A},unscheduledAccesses.byOrganisation,RXX01,Example General Hospital ED,2`, `${A},unscheduledAccesses.byOrganisation,RYY02,Riverside Urgent Treatment Centre,1`,
      `${A},silentReads,,,0`,
    ]);
    const allCsv = await service.fetch(`/ops/v1/reports/usage?month=${M1.month}`, { token: ops, headers: { accept: 'text/csv' } });
    expect((await allCsv.text()).split('\r\n')).toEqual([
      ...head, ...rows.flatMap((r) => [`${r.la.code},name,,,${r.la.name}`, ...rowsOf(r.la.code, figures[r.la.code === A ? 'A1' : 'B1'])]), ...rowsOf('*', figures.all1), '',
    ]);
  });

  it('says which figures fall short: a month under way, still to come, or older than the notifications kept', async () => {
    const token = await laToken(service, syntheticLaCode());
    const [now, next, old] = [await monthAt(0), await monthAt(1), await monthAt(-4)];
    clock.set(new Date());
    const get = async (month: string) => (await service.fetch(`/la/v1/reports/usage?month=${month}`, { token })).json();
    expect((await get(now.month)).shortfalls).toEqual([{ reason: 'month-not-ended', metrics: ['unscheduledAccesses', 'silentReads', 'notifications', 'acknowledgement'] }]);
    const future = await get(next.month);
    expect([future.complete, future.shortfalls, future.unscheduledAccesses.total, future.acknowledgement]).toEqual([
      false, [{ reason: 'month-not-started', metrics: ['unscheduledAccesses', 'silentReads', 'notifications', 'acknowledgement'] }], 0,
      { alerts: 0, acknowledged: 0, p50Seconds: null, p95Seconds: null },
    ]);
    const past = await get(old.month);
    const generated = new Date(past.generatedAt).getTime();
    expect([past.complete, past.shortfalls]).toEqual([
      false, [{ reason: 'notification-retention', metrics: ['unscheduledAccesses', 'notifications', 'acknowledgement'], heldFrom: new Date(generated - 90 * 24 * 60 * MINUTE).toISOString() }],
    ]);
  });

  it('refuses a month that is not one, naming month, and a format it does not write, naming format', async () => {
    const token = await laToken(service, syntheticLaCode());
    const ops = await service.token({ role: 'ops', sub: 'ops-bad', org: 'OPS01' });
    for (const [path, field] of [
      ['/la/v1/reports/usage', 'month'], ['/la/v1/reports/usage?month=2026-13', 'month'], ['/la/v1/reports/usage?month=1999-12', 'month'],
      ['/la/v1/reports/usage?month=2026-1', 'month'], ['/la/v1/reports/usage?month=2026-01&month=2026-02', 'month'], ['/la/v1/reports/usage?month=2026-01&format=xlsx', 'format'],
      ['/ops/v1/reports/usage?month=26-01', 'month'],
    ] as const) {
      const res = await service.fetch(path, { token: path.startsWith('/ops') ? ops : token });
      expect([path, res.status, (await res.json()).issue[0].expression]).toEqual([path, 400, [field]]);
    }
    expect((await service.fetch('/ops/v1/reports/usage?month=2026-01', { token })).status).toBe(403);
  });
});
