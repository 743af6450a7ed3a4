import { describe, expect, it } from 'vitest';
import { errorResultOf, patientResultOf } from '../../adapters/pds/patient-result.ts';
import { backoffMs, createCircuitBreaker } from '../../adapters/pds/resilience.ts';
import { loadConfig } from '../../src/config.ts';
import { movableClock } from '../support/clock.ts';
import { compoundNameFixture, living, pdsError, pdsFixture } from '../support/pds.ts';

describe('reading PDS answers', () => {
  it('reduces the published Patient to what the register checks', () => {
    expect(patientResultOf('9000000009', pdsFixture('Patient'))).toEqual({
      kind: 'found',
      person: { nhsNumber: '9000000009', familyName: 'Smith', givenNames: ['Jane'], birthDate: '2010-10-22', restricted: false, deceased: true },
    });
    expect(patientResultOf('9000000009', living(pdsFixture('Patient')))).toMatchObject({ person: { deceased: false } });
    expect(patientResultOf('9000000025', pdsFixture('Sensitive_Patient'))).toMatchObject({ kind: 'found', person: { restricted: true } });
    expect(patientResultOf('9000000033', pdsFixture('Minimal_Patient'))).toMatchObject({ person: { familyName: null, givenNames: [], birthDate: null } });
    expect(patientResultOf('9000000015', compoundNameFixture())).toMatchObject({ person: { givenNames: ['John Paul'] } });
  });

  it('reads a record answering for another number as superseded, and anything else as unexpected', () => {
    expect(patientResultOf('9990000018', pdsFixture('Patient'))).toMatchObject({ kind: 'superseded', replacementNhsNumber: '9000000009' });
    expect(patientResultOf('9000000009', { resourceType: 'OperationOutcome' })).toEqual({ kind: 'unavailable', reason: 'unexpected-response' });
  });

  it('reads the published error OperationOutcomes', () => {
    expect(errorResultOf(404, pdsError('RESOURCE_NOT_FOUND'))).toEqual({ kind: 'not-found' });
    expect(errorResultOf(404, pdsError('INVALIDATED_RESOURCE'))).toEqual({ kind: 'invalidated' });
    expect(errorResultOf(400, pdsError('INVALID_RESOURCE_ID'))).toEqual({ kind: 'not-found' });
    expect(errorResultOf(403, pdsError('ACCESS_DENIED'))).toBeUndefined();
  });
});

describe('circuit breaker', () => {
  it('opens after N consecutive failures, lets one probe through after the cool-down, and closes on success', () => {
    const clock = movableClock(new Date('2026-11-21T10:00:00Z'));
    const breaker = createCircuitBreaker({ failureThreshold: 3, coolDownMs: 30_000, clock });
    breaker.failed();
    breaker.failed();
    breaker.succeeded();
    breaker.failed();
    breaker.failed();
    expect(breaker.state()).toBe('closed');
    breaker.failed();
    expect(breaker.state()).toBe('open');
    expect(breaker.allows()).toBe(false);
    clock.advance(30_000);
    expect(breaker.allows()).toBe(true);
    expect(breaker.state()).toBe('half-open');
    expect(breaker.allows()).toBe(false);
    breaker.failed();
    expect(breaker.state()).toBe('open');
    clock.advance(30_000);
    expect(breaker.allows()).toBe(true);
    breaker.succeeded();
    expect(breaker.state()).toBe('closed');
    expect(breaker.allows()).toBe(true);
  });

  it('backs off exponentially, honours Retry-After, and never waits more than 5 s', () => {
    expect(backoffMs(0, 100)).toBeGreaterThanOrEqual(80);
    expect(backoffMs(0, 100)).toBeLessThanOrEqual(120);
    expect(backoffMs(3, 100)).toBeGreaterThanOrEqual(640);
    expect(backoffMs(0, 100, 2_000)).toBe(2_000);
    expect(backoffMs(10, 250)).toBe(5_000);
    expect(backoffMs(0, 100, 60_000)).toBe(5_000);
  });
});

describe('PDS configuration', () => {
  it('defaults to off with a 5/s rate limit, and names every credential live mode lacks', () => {
    expect(loadConfig({}).pds).toMatchObject({ mode: 'off', rateLimitPerSecond: 5, recheckRatePerSecond: 2, recheckPollSeconds: 60 });
    expect(() => loadConfig({ PDS_MODE: 'live' })).toThrow(/PDS_BASE_URL[\s\S]*PDS_TOKEN_URL[\s\S]*PDS_API_KEY[\s\S]*PDS_PRIVATE_KEY_FILE[\s\S]*PDS_KEY_ID/);
    expect(loadConfig({ PDS_MODE: 'sandbox' }).pds.mode).toBe('sandbox');
  });
});
