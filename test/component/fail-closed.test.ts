import { request } from 'node:http';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { startService } from '../../src/service.ts';
import { StartupRefusal } from '../../src/startup-refusal.ts';
import { MAIN_PATH, runToExit } from '../support/process.ts';
import { productionEnv } from '../support/production-env.ts';
import { startTestService, type TestService } from '../support/service.ts';

// README, Security: fail closed. Production is chosen by NODE_ENV=production alone; anything else is
// a development instance, which listens on loopback only and says so at start-up.

const started: TestService[] = [];
afterAll(async () => {
  for (const service of started) await service.stop();
});

async function start(env?: Record<string, string>): Promise<TestService> {
  const service = await startTestService({ env });
  started.push(service);
  return service;
}

const parsed = (service: TestService) => service.logs.map((line) => JSON.parse(line) as { level: number; msg: string; nodeEnv?: string });

/** The CapabilityStatement's base URL, asked for with the Host header given (fetch will not send one of ours). */
function metadataUrlWith(service: TestService, host: string): Promise<string> {
  const { hostname, port } = new URL(service.url);
  return new Promise((resolve, reject) => {
    const req = request({ hostname, port, path: '/cpis/FHIR/R4/metadata', headers: { host } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve((JSON.parse(text) as { implementation: { url: string } }).implementation.url));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('fail closed at start-up', () => {
  it('says loudly, at warn, that an instance not started with NODE_ENV=production is a development instance', async () => {
    const service = await start();
    const warnings = parsed(service).filter((line) => line.level === 40 && line.msg.startsWith('DEVELOPMENT INSTANCE'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.msg).toMatch(/^DEVELOPMENT INSTANCE \(NODE_ENV=test\): not for real patient data; listening on loopback only; .*dev sign-in/);
    expect(warnings[0]?.nodeEnv).toBe('test');
  });

  it('builds the URLs of a production instance from PUBLIC_BASE_URL, whatever the Host header says, and does not call it a development one', async () => {
    const service = await start(productionEnv());
    expect(await metadataUrlWith(service, 'attacker.example')).toBe('https://cpis.invalid/cpis/FHIR/R4');
    expect(parsed(service).filter((line) => line.msg.includes('DEVELOPMENT INSTANCE'))).toEqual([]);
  });

  it('warns at start-up when production takes uploads from LAs no operator registered (LA_REGISTRATION=open), which it does not by default', async () => {
    const warned = (service: TestService) => parsed(service).filter((line) => line.level === 40 && line.msg.startsWith('LA_REGISTRATION=open in production'));
    expect(warned(await start(productionEnv({ LA_REGISTRATION: 'open' })))).toHaveLength(1);
    expect(warned(await start(productionEnv()))).toEqual([]);
  });

  it('lets a development instance without PUBLIC_BASE_URL follow the Host header, which only a caller on this machine can send it', async () => {
    const service = await start();
    expect(new URL(service.url).hostname).toBe('127.0.0.1');
    expect(await metadataUrlWith(service, 'localhost:9999')).toBe('http://localhost:9999/cpis/FHIR/R4');
  });

  it('refuses to listen beyond loopback outside production, even with a Config that loadConfig did not build', async () => {
    const config = { ...loadConfig({ NODE_ENV: 'test', PORT: '0', DATABASE_URL: 'postgres://127.0.0.1:1/unused' }), host: '0.0.0.0' };
    const refused = startService(config, { logger: pino({ level: 'silent' }) });
    await expect(refused).rejects.toBeInstanceOf(StartupRefusal);
    await expect(refused).rejects.toThrow(/HOST=0\.0\.0\.0 is only allowed with NODE_ENV=production/);
  });

  it('exits 78 with one message when NODE_ENV is unset and HOST is not loopback, or when production keeps the development defaults', async () => {
    const dev = await runToExit([MAIN_PATH], { NODE_ENV: '', HOST: '0.0.0.0' });
    expect(dev.code).toBe(78);
    expect(dev.stderr).toMatch(/HOST=0\.0\.0\.0 is only allowed with NODE_ENV=production: a development instance \(NODE_ENV=development\) listens on loopback only/);

    const production = await runToExit([MAIN_PATH], { NODE_ENV: 'production', HOST: '0.0.0.0', AUTH_MODE: 'jwks', AUTH_JWKS_URL: 'http://idp.cpis.invalid/jwks' });
    expect(production.code).toBe(78);
    for (const problem of ['AUTH_JWKS_URL must be an https:// URL', 'AUTH_ISSUER is unset or the development default', 'AUTH_AUDIENCE is unset or the development default', 'PUBLIC_BASE_URL is required'])
      expect(production.stderr).toContain(problem);
    expect(production.stderr).not.toMatch(/HOST=/);
  });
});
