// Talks to the service's JSON API. Errors are FHIR OperationOutcomes; only their diagnostics are kept.

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
  }
}

/** One JSON request with a timeout, so a stalled network never hangs the console. */
export async function api(path, { token, method = 'GET', body, timeoutMs = 15000 } = {}) {
  const headers = { accept: 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
      credentials: 'omit',
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch {
    throw new ApiError(0, 'The service could not be reached.');
  }
  if (!response.ok) {
    let diagnostics;
    try {
      diagnostics = (await response.json())?.issue?.[0]?.diagnostics;
    } catch {
      diagnostics = undefined;
    }
    throw new ApiError(response.status, typeof diagnostics === 'string' ? diagnostics : `The service answered ${response.status}.`);
  }
  return response.status === 204 ? null : response.json();
}

/** True when the error means the token is no longer any good: the worker must sign in again. */
export const isSessionEnded = (error) => error instanceof ApiError && error.status === 401;

/** Who the token says we are ("acknowledged by you", my duty teams); the service verifies it, we only read it. */
export function identityOf(token) {
  try {
    const payload = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    const claims = JSON.parse(window.atob(payload.padEnd(Math.ceil(payload.length / 4) * 4, '=')));
    const teams = Array.isArray(claims.teams) ? claims.teams.filter((t) => typeof t === 'string') : [];
    return { sub: typeof claims.sub === 'string' ? claims.sub : null, name: typeof claims.name === 'string' ? claims.name : null, teams };
  } catch {
    return { sub: null, name: null, teams: [] };
  }
}
