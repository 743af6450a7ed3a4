import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { errorForLog } from '../../src/logger.ts';

describe('errorForLog', () => {
  it('never logs the text of a PostgreSQL error, which can quote the offending value', () => {
    const error = new pg.DatabaseError('invalid input syntax for type date: "2016-05-01 9990000018"', 100, 'error');
    error.code = '22007';
    error.severity = 'ERROR';
    const logged = JSON.stringify(errorForLog(error));
    expect(logged).not.toMatch(/2016-05-01|9990000018/);
    expect(errorForLog(error)).toMatchObject({ code: '22007', message: 'PostgreSQL error 22007' });
  });

  it('keeps the message, class and stack of the service\'s own errors for the operator', () => {
    const logged = errorForLog(new TypeError('cannot read properties of undefined'));
    expect(logged).toMatchObject({ type: 'TypeError', message: 'cannot read properties of undefined' });
    expect(logged.stack).toMatch(/error-for-log\.test\.ts/);
  });
});
