/**
 * What NODE_ENV=production needs besides a database (README, Security: fail closed). The JWKS is
 * fetched only when a token is verified, so an instance that is never shown one runs without it.
 */
export function productionEnv(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    NODE_ENV: 'production', AUTH_MODE: 'jwks', AUTH_JWKS_URL: 'https://idp.cpis.invalid/jwks',
    AUTH_ISSUER: 'https://idp.cpis.invalid', AUTH_AUDIENCE: 'cpis-api', PUBLIC_BASE_URL: 'https://cpis.invalid', ...overrides,
  };
}
