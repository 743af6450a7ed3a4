import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { badChecksumNhsNumber, childRecord, syntheticLaCode, syntheticNhsNumber, yearsAgo } from '../support/synthetic.ts';
import { laToken, startTestService, uploadJson, type TestService } from '../support/service.ts';
import { clinicianToken, searchFor } from '../support/care-setting.ts';
import { runToExit, spawnService } from '../support/process.ts';
import { SUBJECT_ACCESS_TABLES } from '../../adapters/postgres/subject-access-store.ts';

const CLI = fileURLToPath(new URL('../../src/cli/subject-access.ts', import.meta.url));
const SECTIONS = ['plans', 'accesses', 'notifications', 'auditEntries', 'unmatchedSearches', 'pdsRechecks', 'uploadsInProgress', 'refusedRecords'] as const;
const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

type Row = Record<string, unknown>;
type Export = { metadata: { generatedAt: string; service: { name: string; version: string }; nhsNumber: string; counts: Record<string, number> } } & Record<
  (typeof SECTIONS)[number],
  Row[]
>;

let service: TestService;
let db: pg.Client;
let seq = 0;

beforeAll(async () => {
  service = await startTestService();
  db = new pg.Client({ connectionString: service.databaseUrl });
  await db.connect();
});
afterAll(async () => {
  await db?.end();
  await service?.stop();
});

const spaced = (n: string) => `${n.slice(0, 3)} ${n.slice(3, 6)} ${n.slice(6)}`;

/** Runs the CLI against the test database, the way an operator would. */
const exportOf = (args: string[], env: Record<string, string> = {}) =>
  runToExit([CLI, ...args], { DATABASE_URL: service.databaseUrl, DATA_DIR: service.dataDir, LOG_LEVEL: 'info', ...env });

async function laWith(records: Record<string, unknown>[]) {
  const org = syntheticLaCode();
  const token = await laToken(service, org);
  const put = await service.fetch('/la/v1/organisation', {
    method: 'PUT', token, headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: `${org} Council`, officeHoursPhone: '020 7946 0000', edtPhone: '020 7946 0999' }),
  });
  expect(put.status).toBe(200);
  expect((await (await uploadJson(service, token, ++seq, records)).json()).rejected).toBe(0);
  return { org, token };
}

const subjectAccessAudits = async (nhsNumber: string | null) =>
  (await db.query(`SELECT user_id, user_role, detail FROM audit_events WHERE action = 'subject-access' AND nhs_number IS NOT DISTINCT FROM $1 ORDER BY id`, [nhsNumber])).rows;

describe('npm run subject-access', () => {
  it('exports exactly one person\'s plans from both LAs, accesses, notifications with ack state, audit entries and PDS re-check state', async () => {
    const subject = { familyName: 'Subjectperson', givenNames: 'Robin Ash', postcode: 'LS2 7EE' };
    const child = childRecord(subject);
    const nhs = child.nhsNumber as string;
    const others = [childRecord({ familyName: 'Otherchildname', givenNames: 'Quill', postcode: 'ZZ9 9YY' }),
      childRecord({ familyName: 'Thirdchildname', givenNames: 'Wren', postcode: 'ZZ8 8XX', planType: 'UCPP', birthDate: yearsAgo(30) })];
    const laA = await laWith([child, others[0] as Record<string, unknown>]);
    const laB = await laWith([{ ...child, planType: 'LAC', lacLegalStatus: 'S31', startDate: yearsAgo(0, 30) }, others[1] as Record<string, unknown>]);

    const drA = await clinicianToken(service, { sub: 'sar-dr-a' });
    const drB = await clinicianToken(service, { sub: 'sar-dr-b', org: 'RYY02' });
    const gp = await clinicianToken(service, { sub: 'sar-gp', activities: ['B0170'], setting: 'gp' });
    await searchFor(service, drA, 'CareTeam', nhs);
    await searchFor(service, drB, 'Flag', nhs);
    await searchFor(service, gp, 'CareTeam', nhs, { IsUnscheduledAccessEvent: 'false' });
    await searchFor(service, drA, 'AuditEvent', nhs);
    for (const other of others) await searchFor(service, drA, 'CareTeam', other.nhsNumber as string);

    const mailbox = async (token: string) => (await (await service.fetch('/la/v1/notifications', { token })).json()).notifications as Row[];
    const aboutSubject = (rows: Row[]) => rows.filter((n) => (n.subject as { nhsNumber: string }).nhsNumber === nhs);
    const firstOfA = aboutSubject(await mailbox(laA.token))[0]?.eventNumber as number;
    const ack = await service.fetch('/la/v1/notifications/ack', {
      method: 'POST', token: laA.token, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ eventNumbers: [firstOfA] }),
    });
    expect((await ack.json()).acknowledged).toEqual([firstOfA]);

    // What the audit trail holds about the person just before the export.
    const audited = (await db.query('SELECT id FROM audit_events WHERE nhs_number = $1 ORDER BY recorded_at, id', [nhs])).rows.map((r) => Number(r.id));
    const run = await exportOf([spaced(nhs), '--operator', 'dpo-test']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const out = JSON.parse(run.stdout) as Export;
    expect(Object.keys(out)).toEqual(['metadata', ...SECTIONS]);
    expect(out.metadata).toMatchObject({ nhsNumber: nhs, service: { name: 'cpis-open', version: expect.stringMatching(/^\d+\.\d+\.\d+/) } });
    expect(out.metadata.generatedAt).toMatch(ISO_INSTANT);
    expect(out.metadata.counts).toEqual(Object.fromEntries(SECTIONS.map((s) => [s, out[s].length])));

    // Plans: both LAs, with the owning LA's code and name.
    expect(out.plans.map((p) => [p.laCode, p.laName, p.planType, p.nhsNumber, p.familyName])).toEqual(
      [[laA.org, `${laA.org} Council`, 'CPP', nhs, subject.familyName], [laB.org, `${laB.org} Council`, 'LAC', nhs, subject.familyName]]
        .sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
    );
    expect(Object.keys(out.plans[0] as Row).slice(0, 4)).toEqual(['id', 'laCode', 'laName', 'nhsNumber']);

    // Accesses: the two unscheduled views, not the silent read.
    expect(out.accesses.map((a) => [a.nhsNumber, a.userId])).toEqual([[nhs, 'sar-dr-a'], [nhs, 'sar-dr-b']]);

    // Notifications: one per owning LA per view, as each LA's mailbox holds them, with the ack state.
    const expected: Row[] = [...aboutSubject(await mailbox(laA.token)).map((n) => ({ ...n, laCode: laA.org })), ...aboutSubject(await mailbox(laB.token)).map((n) => ({ ...n, laCode: laB.org }))];
    expect(expected).toHaveLength(4);
    expect(out.notifications).toHaveLength(4);
    for (const n of expected) {
      const held = out.notifications.find((e) => e.laCode === n.laCode && e.eventNumber === n.eventNumber);
      expect(held).toMatchObject({ type: 'access', nhsNumber: nhs, occurredAt: n.occurredAt, acknowledgedAt: n.acknowledgedAt, acknowledgedBy: n.acknowledgedBy });
      expect((held?.body as { subject: unknown }).subject).toEqual(n.subject);
    }
    expect(out.notifications.filter((n) => n.acknowledgedAt !== null).map((n) => [n.laCode, n.eventNumber])).toEqual([[laA.org, firstOfA]]);

    // Audit: every search that named the person, silent or not, and nothing else.
    expect(out.auditEntries.map((a) => a.id)).toEqual(audited);
    expect(out.auditEntries.map((a) => [a.action, a.userId, a.unscheduled])).toEqual([
      ['search:CareTeam', 'sar-dr-a', true], ['search:Flag', 'sar-dr-b', true], ['search:CareTeam', 'sar-gp', false], ['search:AuditEvent', 'sar-dr-a', true],
    ]);
    expect(out.pdsRechecks).toEqual([expect.objectContaining({ nhsNumber: nhs })]);
    // The audit chain's bookkeeping (lane, seq, hashes) is integrity data, not data about the person.
    for (const entry of out.auditEntries) expect(Object.keys(entry).filter((k) => ['lane', 'seq', 'prevHash', 'hash'].includes(k))).toEqual([]);

    // Instants as ISO strings, everywhere at the top level of a row.
    for (const [row, key] of [[out.plans[0], 'createdAt'], [out.accesses[0], 'accessedAt'], [out.notifications[0], 'occurredAt'], [out.auditEntries[0], 'recordedAt']] as const) {
      expect((row as Row)[key]).toMatch(ISO_INSTANT);
    }

    // Nothing about the other children.
    for (const other of others) {
      for (const value of [other.nhsNumber, other.familyName, other.givenNames, other.postcode] as string[]) expect(run.stdout).not.toContain(value);
    }

    // The export is audited, with no personal data in the detail; the next export shows it and is otherwise the same.
    expect(await subjectAccessAudits(nhs)).toEqual([{ user_id: 'dpo-test', user_role: 'ops', detail: null }]);
    // Unquoted, `999 000 0018` arrives as three arguments.
    const again = JSON.parse((await exportOf([...spaced(nhs).split(' '), '--operator', 'dpo-test'])).stdout) as Export;
    for (const section of ['plans', 'accesses', 'notifications', 'pdsRechecks'] as const) expect(again[section]).toEqual(out[section]);
    expect(again.auditEntries.slice(0, -1)).toEqual(out.auditEntries);
    expect(again.auditEntries.at(-1)).toMatchObject({ action: 'subject-access', outcome: 'ok', userId: 'dpo-test', nhsNumber: nhs, detail: null });
    // recorded_at is the database's clock (migration 0013): at or just after the export was generated, on this one host.
    const recordedAfter = Date.parse(again.auditEntries.at(-1)?.recordedAt as string) - Date.parse(out.metadata.generatedAt);
    expect(recordedAfter).toBeGreaterThanOrEqual(0);
    expect(recordedAfter).toBeLessThan(60_000);
  });

  it('includes an inactive-NHS-number notification and audit row that name the person as the replacement number', async () => {
    const current = syntheticNhsNumber();
    const retired = syntheticNhsNumber();
    const body = { subject: { nhsNumber: retired }, reason: 'superseded', replacementNhsNumber: current };
    const la = await laWith([childRecord()]);
    await db.query(
      `INSERT INTO notifications (la_code, event_number, type, occurred_at, nhs_number, body)
       VALUES ($1, next_event_number($1), 'inactive-nhs-number', now(), $2, $3)`,
      [la.org, retired, JSON.stringify(body)],
    );
    await db.query(
      `INSERT INTO audit_events (recorded_at, action, outcome, user_id, user_role, organisation_code, nhs_number, request_id, detail)
       VALUES (now(), 'pds:inactive-nhs-number', 'ok', 'cpis-pds-recheck', 'system', $1, $2, 'sar-test', $3)`,
      [la.org, retired, JSON.stringify({ reason: 'superseded', replacementNhsNumber: current })],
    );
    const out = JSON.parse((await exportOf([current])).stdout) as Export;
    expect(out.notifications.map((n) => [n.type, n.nhsNumber])).toEqual([['inactive-nhs-number', retired]]);
    expect(out.auditEntries.map((a) => [a.action, a.nhsNumber])).toEqual([['pds:inactive-nhs-number', retired]]);
  });

  it('answers a person with nothing held with empty arrays, exit 0, and audits that export too', async () => {
    const nobody = syntheticNhsNumber();
    const run = await exportOf([nobody, '--operator', 'dpo-empty']);
    expect(run.code).toBe(0);
    expect(run.stderr).toBe('');
    const out = JSON.parse(run.stdout) as Export;
    for (const section of SECTIONS) expect(out[section]).toEqual([]);
    expect(out.metadata.counts).toEqual(Object.fromEntries(SECTIONS.map((s) => [s, 0])));
    expect(out.metadata.nhsNumber).toBe(nobody);
    expect(await subjectAccessAudits(nobody)).toEqual([{ user_id: 'dpo-empty', user_role: 'ops', detail: null }]);
  });

  it('refuses a missing or invalid NHS number with exit 64, naming the rule and echoing nothing, and audits nothing', async () => {
    const before = (await db.query(`SELECT count(*)::int AS n FROM audit_events WHERE action = 'subject-access'`)).rows[0].n;
    const none = await exportOf([]);
    expect(none.code).toBe(64);
    expect(none.stderr).toMatch(/^usage: npm run --silent subject-access -- <nhs-number>/);
    expect(none.stdout).toBe('');

    const bad = badChecksumNhsNumber();
    const checksum = await exportOf([bad]);
    expect(checksum.code).toBe(64);
    expect(checksum.stderr).toMatch(/Modulus 11/);
    expect(checksum.stderr).not.toContain(bad);
    expect(checksum.stdout).toBe('');

    for (const [input, rule] of [['12345', /10 digits/], ['9999999999', /repeated digit/], ['ABC 123 4567', /old-style/]] as const) {
      const run = await exportOf([input]);
      expect(run.code).toBe(64);
      expect(run.stderr).toMatch(rule);
      expect(run.stderr).not.toContain(input);
    }
    expect((await exportOf([syntheticNhsNumber(), '--bogus'])).code).toBe(64);
    expect((await db.query(`SELECT count(*)::int AS n FROM audit_events WHERE action = 'subject-access'`)).rows[0].n).toBe(before);
  });
});

describe('coverage of every table that holds an NHS number', () => {
  it('includes the searches that found no visible plan for the person, kept apart in the unmatched-search trail', async () => {
    const nobody = syntheticNhsNumber();
    await searchFor(service, await clinicianToken(service, { sub: 'sar-unmatched-dr' }), 'CareTeam', nobody);
    await searchFor(service, await clinicianToken(service, { sub: 'sar-unmatched-gp', activities: ['B0170'], setting: 'gp' }), 'Flag', nobody, { IsUnscheduledAccessEvent: 'false' });
    const out = JSON.parse((await exportOf([nobody, '--operator', 'dpo-unmatched'])).stdout) as Export;
    expect(out.unmatchedSearches.map((a) => [a.action, a.outcome, a.userId, a.nhsNumber, a.unscheduled])).toEqual([
      ['search:CareTeam', 'not-found', 'sar-unmatched-dr', nobody, true],
      ['search:Flag', 'not-found', 'sar-unmatched-gp', nobody, false],
    ]);
    expect(out.metadata.counts.unmatchedSearches).toBe(2);
    expect(out.auditEntries).toEqual([]);
    for (const entry of out.unmatchedSearches) expect(Object.keys(entry).filter((k) => ['lane', 'seq', 'prevHash', 'hash'].includes(k))).toEqual([]);
    expect(out.unmatchedSearches[0]?.recordedAt).toMatch(ISO_INSTANT);
  });

  it('includes the records about the person of a batch still being received', async () => {
    const nhs = syntheticNhsNumber();
    const batch = '-7';
    await db.query(
      `INSERT INTO upload_staging (batch, idx, nhs_number, plan_type, start_date, family_name, given_names, birth_date, address_lines)
       VALUES ($1, 3, $2, 'CPP', $3, 'Staged', 'Sam', $4, '{}')`,
      [batch, nhs, yearsAgo(1), yearsAgo(8)],
    );
    try {
      const out = JSON.parse((await exportOf([nhs, '--operator', 'dpo-staged'])).stdout) as Export;
      expect(out.uploadsInProgress).toEqual([expect.objectContaining({ batch: -7, idx: 3, nhsNumber: nhs, familyName: 'Staged' })]);
      expect(out.metadata.counts.uploadsInProgress).toBe(1);
    } finally {
      await db.query('DELETE FROM upload_staging WHERE batch = $1', [batch]);
    }
  });

  it('reads every base table with an NHS-number column, and no table it names lacks one', async () => {
    const { rows } = await db.query<{ table_name: string }>(
      `SELECT DISTINCT c.table_name FROM information_schema.columns c
       JOIN information_schema.tables t USING (table_schema, table_name)
       WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE' AND c.column_name LIKE '%nhs_number%'`,
    );
    const holding = rows.map((r) => r.table_name).sort();
    expect(holding.length).toBeGreaterThan(0);
    expect(holding).toEqual([...SUBJECT_ACCESS_TABLES].sort());
  });

  it('refuses to export (exit 70, naming the table) while a table holding NHS numbers is not covered', async () => {
    await db.query('CREATE TABLE sar_uncovered_probe (id int, subject_nhs_number char(10))');
    try {
      const run = await exportOf([syntheticNhsNumber()]);
      expect(run.code).toBe(70);
      expect(run.stderr).toContain('sar_uncovered_probe');
      expect(run.stdout).toBe('');
    } finally {
      await db.query('DROP TABLE sar_uncovered_probe');
    }
  });
});

describe('with the embedded PostgreSQL under DATA_DIR', () => {
  it('attaches to the running service\'s database, and starts and stops it itself when the service is down', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'cpis-sar-'));
    try {
      const nhs = syntheticNhsNumber();
      const running = await spawnService({ DATA_DIR: dataDir });
      const whileUp = await runToExit([CLI, nhs, '--operator', 'dpo-embedded'], { DATA_DIR: dataDir });
      expect(whileUp.stderr).toBe('');
      expect(whileUp.code).toBe(0);
      expect(JSON.parse(whileUp.stdout).auditEntries).toEqual([]);
      running.child.kill('SIGTERM');
      expect((await running.exited).code).toBe(0);

      const whileDown = await runToExit([CLI, nhs, '--operator', 'dpo-embedded'], { DATA_DIR: dataDir });
      expect(whileDown.stderr).toBe('');
      expect(whileDown.code).toBe(0);
      // The first export was audited in the service's database.
      expect((JSON.parse(whileDown.stdout) as Export).auditEntries.map((a) => [a.action, a.userId])).toEqual([['subject-access', 'dpo-embedded']]);
      expect(existsSync(path.join(dataDir, 'pg', 'postmaster.pid'))).toBe(false);
      expect(existsSync(path.join(dataDir, 'instance.pid'))).toBe(false);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 180_000);

  it('says what to do when DATA_DIR holds no database', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'cpis-sar-empty-'));
    try {
      const run = await runToExit([CLI, syntheticNhsNumber()], { DATA_DIR: dataDir });
      expect(run.code).toBe(69);
      expect(run.stderr).toMatch(/no database under DATA_DIR .*set DATA_DIR to the service's, or DATABASE_URL/);
      expect(existsSync(path.join(dataDir, 'pg'))).toBe(false);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
