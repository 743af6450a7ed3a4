import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

// docs/clinical-safety.md ties each hazard's controls to tests, by file and test name. This keeps
// that true: a listed test that is renamed, deleted or skipped fails here, and so does a hazard
// with no test, or a risk score that does not follow the log's own matrix.

const ROOT = path.resolve(import.meta.dirname, '../..');
const LOG = readFileSync(path.join(ROOT, 'docs/clinical-safety.md'), 'utf8');

const SEVERITIES = ['Minor', 'Significant', 'Considerable', 'Major', 'Catastrophic'] as const;
const LIKELIHOODS = ['Very high', 'High', 'Medium', 'Low', 'Very low'] as const;

type Hazard = { id: string; title: string; text: string };
type TestRef = { file: string; name: string };
type Score = { severity: string; likelihood: string; score: number };

function hazardsOf(log: string): Hazard[] {
  return [...log.matchAll(/^### (H\d{2}) (.+)$/gm)].map((heading, i, all) => {
    const end = all[i + 1]?.index ?? log.indexOf('\n## ', heading.index);
    return { id: heading[1] as string, title: heading[2] as string, text: log.slice(heading.index, end === -1 ? undefined : end) };
  });
}

function testRefsOf(text: string): TestRef[] {
  return [...text.matchAll(/^\s*- `(test\/[^`]+\.test\.ts)` › (.+)$/gm)].map((m) => ({ file: m[1] as string, name: (m[2] as string).trim() }));
}

function scoreOf(text: string, label: 'Initial risk' | 'Residual risk'): Score | undefined {
  const m = new RegExp(`\\*\\*${label}:\\*\\* (\\w+) × (Very high|High|Medium|Low|Very low) = (\\d)`).exec(text);
  return m ? { severity: m[1] as string, likelihood: m[2] as string, score: Number(m[3]) } : undefined;
}

/** The matrix as the log states it, read from its table, so that the scores are checked against what a reader sees. */
function matrixOf(log: string): Map<string, number[]> {
  const rows = new Map<string, number[]>();
  for (const m of log.matchAll(/^\| \*\*(Very high|High|Medium|Low|Very low)\*\* \|(.+)\|$/gm)) {
    rows.set(m[1] as string, (m[2] as string).split('|').map((cell) => Number(cell.trim())));
  }
  return rows;
}

const TEST_FUNCTIONS = new Set(['it', 'test']);
const NOT_RUN = new Set(['skip', 'todo', 'fails']);

/** The names of the tests a file defines and runs, as vitest reads them: string literals only, escapes resolved. */
function testNamesIn(file: string): Set<string> {
  const source = ts.createSourceFile(file, readFileSync(path.join(ROOT, file), 'utf8'), ts.ScriptTarget.Latest, true);
  const names = new Set<string>();
  const visit = (node: ts.Node): void => {
    if (ts.isCallExpression(node)) {
      const [first] = node.arguments;
      if (first && (ts.isStringLiteral(first) || ts.isNoSubstitutionTemplateLiteral(first)) && runsAsTest(node.expression)) names.add(first.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return names;
}

/** it('…'), test('…'), it.concurrent('…') and the like; not it.skip, it.todo, describe or anything else. */
function runsAsTest(callee: ts.Expression): boolean {
  if (ts.isIdentifier(callee)) return TEST_FUNCTIONS.has(callee.text);
  if (ts.isPropertyAccessExpression(callee)) return !NOT_RUN.has(callee.name.text) && runsAsTest(callee.expression);
  return false;
}

const hazards = hazardsOf(LOG);

describe('the hazard log (docs/clinical-safety.md)', () => {
  it('lists hazards, each with causes, effect, controls, both risk scores and at least one test', () => {
    expect(hazards.length).toBeGreaterThanOrEqual(10);
    for (const hazard of hazards) {
      for (const part of ['**Causes.**', '**Effect and possible harm.**', '**Controls.**', '**Tests.**']) {
        expect(hazard.text, `${hazard.id} ${part}`).toContain(part);
      }
      expect(scoreOf(hazard.text, 'Initial risk'), `${hazard.id} initial risk`).toBeDefined();
      expect(scoreOf(hazard.text, 'Residual risk'), `${hazard.id} residual risk`).toBeDefined();
      expect(testRefsOf(hazard.text).length, `${hazard.id} lists no test`).toBeGreaterThan(0);
    }
    expect(new Set(hazards.map((h) => h.id)).size).toBe(hazards.length);
  });

  it('scores every risk by the matrix it states, and leaves no residual risk unacceptable or above the initial one', () => {
    const matrix = matrixOf(LOG);
    expect([...matrix.keys()]).toEqual([...LIKELIHOODS]);
    for (const hazard of hazards) {
      const initial = scoreOf(hazard.text, 'Initial risk') as Score;
      const residual = scoreOf(hazard.text, 'Residual risk') as Score;
      for (const [label, s] of [['initial', initial], ['residual', residual]] as const) {
        const column = SEVERITIES.indexOf(s.severity as (typeof SEVERITIES)[number]);
        expect(column, `${hazard.id} ${label} severity ${s.severity}`).toBeGreaterThanOrEqual(0);
        expect(s.score, `${hazard.id} ${label}: ${s.severity} × ${s.likelihood}`).toBe(matrix.get(s.likelihood)?.[column]);
      }
      expect(residual.score, `${hazard.id} residual risk is unacceptable`).toBeLessThanOrEqual(3);
      expect(residual.score, `${hazard.id} residual above initial`).toBeLessThanOrEqual(initial.score);
    }
  });

  it('names only tests that exist and run, by file and exact name', () => {
    const refs = hazards.flatMap((h) => testRefsOf(h.text).map((ref) => ({ ...ref, hazard: h.id })));
    const names = new Map<string, Set<string>>();
    const missing: string[] = [];
    for (const ref of refs) {
      if (!existsSync(path.join(ROOT, ref.file))) {
        missing.push(`${ref.hazard}: no file ${ref.file}`);
        continue;
      }
      if (!names.has(ref.file)) names.set(ref.file, testNamesIn(ref.file));
      if (!names.get(ref.file)?.has(ref.name)) missing.push(`${ref.hazard}: no test in ${ref.file} named "${ref.name}"`);
    }
    expect(missing).toEqual([]);
  });
});

describe('reading test names (the check itself)', () => {
  it('finds it and test names with their escapes resolved, and not describe, skipped or computed names', () => {
    const names = testNamesIn('test/unit/clinical-safety.test.ts');
    expect(names).toContain('names only tests that exist and run, by file and exact name');
    expect(names).not.toContain('the hazard log (docs/clinical-safety.md)');
    const other = testNamesIn('test/component/notifications.test.ts');
    expect(other).toContain("names who looked in the LA's terms: SDS user id, role profile and national job role, when the token carries them");
  });

  it('reads a test reference of the log, and a reference to a missing test is reported', () => {
    expect(testRefsOf('  - `test/unit/x.test.ts` › does a thing\n')).toEqual([{ file: 'test/unit/x.test.ts', name: 'does a thing' }]);
    expect(testNamesIn('test/unit/person.test.ts').has('a test nobody wrote')).toBe(false);
  });
});
