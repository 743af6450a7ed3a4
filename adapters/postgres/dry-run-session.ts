import type pg from 'pg';
import type { Acknowledgement } from '../../src/domain/acknowledgement.ts';
import type { AuditEntry, CommitOutcome } from '../../src/ports.ts';
import { PostgresBatchSession } from './batch-session.ts';

/**
 * A dry run (POST /la/v1/uploads?dryRun=true): staged like a batch, so that the one-identity check compares
 * its records with the plans held, but it records no refusal and its commit applies nothing: it discards what
 * it staged and writes only its audit row. Its slot is a dry run's, not the LA's upload slot.
 */
export class PostgresDryRunSession extends PostgresBatchSession {
  constructor(pool: pg.Pool, laCode: string, uploadId: string, key: string) {
    super(pool, laCode, uploadId, key, 'upload_dry_run_slots');
  }

  protected override get keepsRefusals(): boolean {
    return false;
  }

  override async refuse(): Promise<void> {
    // A dry run lists what its acknowledgement lists (publish-batch's tally), and keeps nothing to page.
  }

  override async commit(_ack: Acknowledgement, audit: AuditEntry): Promise<CommitOutcome> {
    await this.abort(audit);
    return { committed: true };
  }
}
