import type pg from 'pg';
import { inWeekOrder, type OfficeHours } from '../../src/domain/office-hours.ts';
import type { Organisation } from '../../src/domain/organisation.ts';
import { phoneFromE164 } from '../../src/domain/uk-phone.ts';
import type { OrganisationStore } from '../../src/ports.ts';

// Phones are held in E.164 and hours in the per-day shape (migration 0009).
type Row = { code: string; name: string; office_hours_phone: string | null; edt_phone: string | null; office_hours: OfficeHours };

/** Maps a database row to the domain's Organisation. */
export const toOrganisation = (r: Row): Organisation => ({
  code: r.code,
  name: r.name,
  officeHoursPhone: r.office_hours_phone === null ? null : phoneFromE164(r.office_hours_phone),
  edtPhone: r.edt_phone === null ? null : phoneFromE164(r.edt_phone),
  officeHours: inWeekOrder(r.office_hours),
});

/** LA contact details in PostgreSQL. */
export function createPostgresOrganisationStore(pool: pg.Pool): OrganisationStore {
  return {
    async get(code) {
      const { rows } = await pool.query<Row>('SELECT code, name, office_hours_phone, edt_phone, office_hours FROM organisations WHERE code = $1', [code]);
      return rows[0] && toOrganisation(rows[0]);
    },
    async put(o) {
      const { rows } = await pool.query<Row>(
        `INSERT INTO organisations (code, name, office_hours_phone, edt_phone, office_hours) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, office_hours_phone = EXCLUDED.office_hours_phone,
           edt_phone = EXCLUDED.edt_phone, office_hours = EXCLUDED.office_hours, updated_at = now()
         RETURNING code, name, office_hours_phone, edt_phone, office_hours`,
        [o.code, o.name, o.officeHoursPhone?.e164 ?? null, o.edtPhone?.e164 ?? null, JSON.stringify(o.officeHours)],
      );
      return toOrganisation(rows[0] as Row);
    },
  };
}
