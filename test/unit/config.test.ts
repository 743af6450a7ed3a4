import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.ts';

describe('loadConfig', () => {
  it('applies the documented defaults', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ port: 8080, host: '127.0.0.1', dataDir: './data', databaseUrl: '', logLevel: 'info' });
    expect(config.auth.mode).toBe('dev');
    expect(config.pds.mode).toBe('off');
    expect(config.visibilityDays).toEqual({ CPP: 365, LAC: 365, UCPP: 28 });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('lists every problem in one error', () => {
    let error: unknown;
    try {
      loadConfig({ PORT: 'eighty', LOG_LEVEL: 'loud', AUTH_MODE: 'magic', DATABASE_URL: 'mysql://x' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    for (const name of ['PORT', 'LOG_LEVEL', 'AUTH_MODE', 'DATABASE_URL']) expect(problems).toContain(name);
  });

  it('refuses dev tokens in production and requires a JWKS URL in jwks mode', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/AUTH_MODE/);
    expect(() => loadConfig({ AUTH_MODE: 'jwks' })).toThrow(/AUTH_JWKS_URL/);
    expect(loadConfig({ AUTH_MODE: 'jwks', AUTH_JWKS_URL: 'https://idp.example/jwks' }).auth.jwksUrl).toBe('https://idp.example/jwks');
  });

  it('treats an empty variable as unset', () => {
    expect(loadConfig({ PORT: '' }).port).toBe(8080);
  });

  it('refuses HMAC or none in the algorithm allow-list', () => {
    expect(() => loadConfig({ AUTH_ALGORITHMS: 'ES256,HS256' })).toThrow(/AUTH_ALGORITHMS/);
    expect(() => loadConfig({ AUTH_ALGORITHMS: 'none' })).toThrow(/AUTH_ALGORITHMS/);
  });
});
