// Assertions shared by the rule tests.
import assert from 'node:assert/strict';
import type { Compilation } from '../../core/compiler/compile-repository.ts';
import type { Finding } from '../../core/findings/finding.ts';
import { compileTeamFile } from '../support/repo-fixture.ts';
import { failingExample, fixedExample } from './docs-examples.ts';

export function findingsOf(c: Compilation, ruleId: string): Finding[] {
  return c.findings.filter((f) => f.ruleId === ruleId);
}

export interface Expected {
  ruleId: string;
  severity?: 'error' | 'warning';
  file?: string;
  line: number;
  column: number;
  includes: string | string[];
}

export function assertFinding(f: Finding | undefined, e: Expected): void {
  assert.ok(f, `expected a ${e.ruleId} finding at ${e.line}:${e.column}`);
  assert.equal(f.ruleId, e.ruleId);
  assert.equal(f.severity, e.severity ?? 'error');
  if (e.file) assert.equal(f.file, e.file);
  assert.deepEqual({ line: f.start.line, column: f.start.column }, { line: e.line, column: e.column }, f.message);
  for (const s of Array.isArray(e.includes) ? e.includes : [e.includes]) assert.ok(f.message.includes(s), `message ${JSON.stringify(f.message)} lacks ${JSON.stringify(s)}`);
}

/** The failing example of docs/rules.md gives exactly `expected` for its rule; the fixed one gives none. */
export function assertDocExamples(ruleId: string, expected: Omit<Expected, 'ruleId'>[]): void {
  const fails = failingExample(ruleId);
  const got = findingsOf(fails.compilation, ruleId);
  assert.equal(got.length, expected.length, fails.output);
  expected.forEach((e, i) => assertFinding(got[i], { ruleId, ...e }));
  assert.equal(fails.compilation.valid, !expected.some((e) => (e.severity ?? 'error') === 'error'));
  const fixed = fixedExample(ruleId);
  assert.deepEqual(findingsOf(fixed.compilation, ruleId), [], fixed.output);
  assert.equal(fixed.compilation.valid, true, fixed.output);
}

/** Findings of one rule for one team file (compiled against the basic shards.yaml). */
export function teamFindings(ruleId: string, text: string, path?: string): Finding[] {
  return findingsOf(compileTeamFile(text, path), ruleId);
}

/** A team file for teams/netops/ on shard networking with the given jobs block (indented YAML). */
export function team(jobs: string): string {
  return `team: netops\nshard: networking\njobs:\n${jobs}`;
}
