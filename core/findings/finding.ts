// A finding is one problem in the repository, located precisely enough to annotate a diff.

export type Severity = 'error' | 'warning';

export interface Position {
  line: number; // 1-based
  column: number; // 1-based
}

export interface Finding {
  ruleId: string;
  severity: Severity;
  /** Path relative to the repository root, with forward slashes. */
  file: string;
  start: Position;
  end: Position;
  message: string;
  /** How to fix it, when the rule knows. */
  hint?: string;
  /** Other places involved (for example the first definition of a duplicate job). */
  related?: { file: string; start: Position; message: string }[];
}

export function compareFindings(a: Finding, b: Finding): number {
  if (a.file !== b.file) return a.file < b.file ? -1 : 1;
  if (a.start.line !== b.start.line) return a.start.line - b.start.line;
  if (a.start.column !== b.start.column) return a.start.column - b.start.column;
  if (a.ruleId !== b.ruleId) return a.ruleId < b.ruleId ? -1 : 1;
  return a.message < b.message ? -1 : a.message > b.message ? 1 : 0;
}

export function hasErrors(findings: readonly Finding[]): boolean {
  return findings.some((f) => f.severity === 'error');
}
