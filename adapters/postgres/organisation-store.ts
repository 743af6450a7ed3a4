import type pg from 'pg';
import type { DutyTeams } from '../../src/domain/duty-teams.ts';
import { inWeekOrder, type OfficeHours } from '../../src/domain/office-hours.ts';
import type { Organisation } from '../../src/domain/organisation.ts';
import { phoneFromE164 } from '../../src/domain/uk-phone.ts';
import type { OrganisationStore } from '../../src/ports.ts';

/** Duty teams as held: each phone in E.164 only, like the LA's own (migration 0017). */
type StoredDutyTeams = { teams: (Omit<DutyTeams['teams'][number], 'phone'> & { phone: string })[]; routing: DutyTeams['routing'] };

// Phones are held in E.164 and hours in the per-day shape (migration 0009).
type Row = {
  code: string; name: string; office_hours_phone: string | null; edt_phone: string | null; office_hours: OfficeHours;
  duty_teams?: StoredDutyTeams | null;
};

/** The columns toOrganisation maps. */
export const ORGANISATION_COLUMNS = 'code, name, office_hours_phone, edt_phone, office_hours, duty_teams';

const toDutyTeams = (stored: StoredDutyTeams): DutyTeams => ({
  teams: stored.teams.map((t) => ({ ...t, phone: phoneFromE164(t.phone) })),
  routing: stored.routing,
});

const toStored = (d: DutyTeams): StoredDutyTeams => ({ teams: d.teams.map((t) => ({ ...t, phone: t.phone.e164 })), routing: d.routing });

/** Maps a database row to the domain's Organisation. */
export const toOrganisation = (r: Row): Organisation => ({
  code: r.code,
  name: r.name,
  officeHoursPhone: r.office_hours_phone === null ? null : phoneFromE164(r.office_hours_phone),
  edtPhone: r.edt_phone === null ? null : phoneFromE164(r.edt_phone),
  officeHours: inWeekOrder(r.office_hours),
  dutyTeams: r.duty_teams ? toDutyTeams(r.duty_teams) : null,
});

/** LA contact details, duty teams and routing rules in PostgreSQL. */
export function createPostgresOrganisationStore(pool: pg.Pool): OrganisationStore {
  return {
    async get(code) {
      const { rows } = await pool.query<Row>(`SELECT ${ORGANISATION_COLUMNS} FROM organisations WHERE code = $1`, [code]);
      return rows[0] && toOrganisation(rows[0]);
    },
    // The contact details only: an LA's duty teams change through putDutyTeams, never as a side effect.
    async put(o) {
      const { rows } = await pool.query<Row>(
        `INSERT INTO organisations (code, name, office_hours_phone, edt_phone, office_hours) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, office_hours_phone = EXCLUDED.office_hours_phone,
           edt_phone = EXCLUDED.edt_phone, office_hours = EXCLUDED.office_hours, updated_at = now()
         RETURNING ${ORGANISATION_COLUMNS}`,
        [o.code, o.name, o.officeHoursPhone?.e164 ?? null, o.edtPhone?.e164 ?? null, JSON.stringify(o.officeHours)],
      );
      return toOrganisation(rows[0] as Row);
    },
    async putDutyTeams(code, dutyTeams) {
      const { rowCount } = await pool.query('UPDATE organisations SET duty_teams = $2, updated_at = now() WHERE code = $1', [
        code, dutyTeams ? JSON.stringify(toStored(dutyTeams)) : null,
      ]);
      return rowCount === 1;
    },
  };
}
