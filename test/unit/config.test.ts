import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.ts';
import { productionEnv } from '../support/production-env.ts';

function problemsOf(env: Record<string, string | undefined>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return [...error.problems];
    throw error;
  }
  return [];
}

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

  it('takes uploads from any LA by default, and only from registered ones in production unless told otherwise (LA_REGISTRATION)', () => {
    expect(loadConfig({}).laRegistration).toBe('open');
    expect(loadConfig({ LA_REGISTRATION: '' }).laRegistration).toBe('open');
    expect(loadConfig({ LA_REGISTRATION: 'required' }).laRegistration).toBe('required');
    expect(loadConfig(productionEnv()).laRegistration).toBe('required');
    expect(loadConfig(productionEnv({ LA_REGISTRATION: '' })).laRegistration).toBe('required');
    expect(loadConfig(productionEnv({ LA_REGISTRATION: 'open' })).laRegistration).toBe('open');
    expect(() => loadConfig({ LA_REGISTRATION: 'closed' })).toThrow(/LA_REGISTRATION/);
  });

  it('refuses HMAC or none in the algorithm allow-list', () => {
    expect(() => loadConfig({ AUTH_ALGORITHMS: 'ES256,HS256' })).toThrow(/AUTH_ALGORITHMS/);
    expect(() => loadConfig({ AUTH_ALGORITHMS: 'none' })).toThrow(/AUTH_ALGORITHMS/);
  });
});

describe('loadConfig: fail closed', () => {
  it('accepts a complete production configuration, listening on every interface', () => {
    const config = loadConfig(productionEnv({ HOST: '0.0.0.0' }));
    expect(config).toMatchObject({ nodeEnv: 'production', host: '0.0.0.0', publicBaseUrl: 'https://cpis.invalid' });
    expect(config.auth).toMatchObject({ mode: 'jwks', jwksUrl: 'https://idp.cpis.invalid/jwks' });
  });

  it('refuses a production start that keeps the development defaults, naming every problem at once', () => {
    const problems = problemsOf({ NODE_ENV: 'production' }).join('\n');
    for (const name of ['AUTH_MODE', 'AUTH_ISSUER', 'AUTH_AUDIENCE', 'PUBLIC_BASE_URL']) expect(problems).toContain(name);
  });

  it.each([
    ['AUTH_MODE=dev', { AUTH_MODE: 'dev', AUTH_JWKS_URL: '' }, /AUTH_MODE is unset or dev/],
    ['an http:// JWKS URL', { AUTH_JWKS_URL: 'http://idp.cpis.invalid/jwks' }, /AUTH_JWKS_URL must be an https:\/\/ URL with NODE_ENV=production/],
    ['the dev issuer', { AUTH_ISSUER: 'urn:cpis:dev' }, /AUTH_ISSUER is unset or the development default/],
    ['an unset issuer (the dev default)', { AUTH_ISSUER: '' }, /AUTH_ISSUER is unset or the development default/],
    ['the dev audience', { AUTH_AUDIENCE: 'cpis' }, /AUTH_AUDIENCE is unset or the development default/],
    ['a missing PUBLIC_BASE_URL', { PUBLIC_BASE_URL: '' }, /PUBLIC_BASE_URL is required with NODE_ENV=production/],
    ['an http:// PUBLIC_BASE_URL', { PUBLIC_BASE_URL: 'http://cpis.invalid' }, /PUBLIC_BASE_URL must be an https:\/\/ URL with NODE_ENV=production/],
  ])('refuses in production: %s', (_what, change, message) => {
    const problems = problemsOf(productionEnv(change));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(message);
  });

  it.each([undefined, 'development', 'test'])('refuses a HOST beyond loopback unless NODE_ENV=production (NODE_ENV=%s)', (nodeEnv) => {
    for (const host of ['0.0.0.0', '::', '10.1.2.3', '192.0.2.10', '::ffff:10.1.2.3', 'cpis.example']) {
      const problems = problemsOf({ NODE_ENV: nodeEnv, HOST: host });
      expect(problems).toEqual([expect.stringContaining(`HOST=${host} is only allowed with NODE_ENV=production`)]);
      expect(problems[0]).toContain('loopback only');
    }
    for (const host of ['127.0.0.1', '127.0.0.2', '127.255.0.9', '::1', '0:0:0:0:0:0:0:1', 'localhost', 'LOCALHOST']) {
      expect(loadConfig({ NODE_ENV: nodeEnv, HOST: host }).host).toBe(host);
    }
  });

  it('accepts an IPv4 HOST outside production if and only if it is in 127.0.0.0/8', () => {
    fc.assert(
      fc.property(fc.ipV4(), fc.constantFrom('development', 'test'), (host, nodeEnv) => {
        expect(problemsOf({ NODE_ENV: nodeEnv, HOST: host }).length === 0).toBe(host.startsWith('127.'));
      }),
    );
  });
});
