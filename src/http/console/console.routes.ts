import express, { Router } from 'express';
import { fileURLToPath } from 'node:url';
import { invalidRequest, notFound } from '../../domain/app-error.ts';
import { TEAM_CODE } from '../../domain/duty-teams.ts';

const STATIC_DIR = fileURLToPath(new URL('./static/', import.meta.url));
const ORG_CODE = /^[A-Za-z0-9]{1,12}$/;

/** Mints a demo social worker's token, of the duty teams given (none: all of the LA); present only in AUTH_MODE=dev. */
export type DevSignIn = (org: string, name: string | undefined, teams: readonly string[]) => Promise<{ token: string; expiresAt: string }>;

const MAX_TEAMS = 20;

function teamsOf(value: unknown): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.length > MAX_TEAMS || !value.every((t) => typeof t === 'string' && TEAM_CODE.test(t)) || new Set(value).size !== value.length)
    throw invalidRequest([{ diagnostics: `teams must be up to ${MAX_TEAMS} different duty team codes`, expression: ['teams'] }]);
  return value as string[];
}

/** The duty console: static files (no token needed), its session mode, and the dev-only demo sign-in. */
export function consoleRouter(deps: { authMode: 'dev' | 'jwks'; devSignIn?: DevSignIn; jsonMaxBytes: number }): Router {
  const router = Router({ caseSensitive: true });
  router.get('/session', (_req, res) => {
    res.json({ authMode: deps.authMode, demoSignIn: deps.authMode === 'dev' && deps.devSignIn !== undefined });
  });
  router.post('/dev-sign-in', express.json({ limit: deps.jsonMaxBytes, type: () => true }), async (req, res) => {
    if (deps.authMode !== 'dev' || !deps.devSignIn) throw notFound('demo sign-in exists only in AUTH_MODE=dev');
    const body = (req.body ?? {}) as { org?: unknown; name?: unknown; teams?: unknown };
    if (typeof body.org !== 'string' || !ORG_CODE.test(body.org))
      throw invalidRequest([{ diagnostics: 'org must be an LA code of 1 to 12 letters and digits', expression: ['org'] }]);
    const name = typeof body.name === 'string' && body.name.trim() ? body.name.trim().slice(0, 100) : undefined;
    res.status(201).json(await deps.devSignIn(body.org.toUpperCase(), name, teamsOf(body.teams)));
  });
  // Cache-Control is the app's no-store, as for every answer (README, Privacy): nothing of its own here.
  router.use(express.static(STATIC_DIR, { index: 'index.html', fallthrough: true, cacheControl: false }));
  return router;
}
