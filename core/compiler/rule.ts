// What a validation rule is. The rules themselves live one per file in ci/rules/<rule-id>.ts, each
// with a stable id documented in docs/rules.md; the compiler that runs them (here in core/) is given
// their list by its callers (ci/rules/index.ts), so core never imports the command folders.
// Rules see the parsed (not yet trusted) repository and report findings by YAML path; the compiler
// turns paths into file:line:col afterwards, so rules never deal with positions.
import type { Finding, Severity } from '../findings/finding.ts';
import type { PathSegment } from '../repository/parse-yaml-file.ts';

export interface ParsedFile {
  /** Relative to the repository root, forward slashes. */
  path: string;
  kind: 'shards' | 'team';
  /** For team files: the folder under teams/. */
  teamFolder?: string;
  text: string;
  /** Parsed YAML. Untrusted: rules must check types before use (see ci/rules/walk.ts). */
  data: unknown;
}

export interface ParsedRepository {
  shardsFile: ParsedFile | null;
  teamFiles: ParsedFile[];
}

export interface ReportInput {
  file: string;
  path: readonly PathSegment[];
  /** Point at the key rather than its value (unknown keys, reserved label names). */
  onKey?: boolean;
  message: string;
  hint?: string;
  /** Overrides the rule's severity for this finding (used sparingly). */
  severity?: Severity;
  related?: { file: string; path: readonly PathSegment[]; onKey?: boolean; message: string }[];
}

export interface RuleContext {
  repo: ParsedRepository;
  report(input: ReportInput): void;
}

export interface Rule {
  /** Stable id, kebab-case. Never renamed once released: CI configurations and suppressions refer to it. */
  id: string;
  severity: Severity;
  /** One line for docs and SARIF rule metadata. */
  summary: string;
  /**
   * What the rule's findings depend on, so that the controller's incremental compile
   * (core/compiler/compile-cache.ts) may reuse them when those inputs did not change:
   * - 'file': only the team file it reports on, and shards.yaml. It never reports on a team file
   *   because of another one, and what it reports on shards.yaml does not depend on team files.
   * - 'shard': only team files that declare the same `shard:` value (and shards.yaml).
   * - unset: the whole repository; re-run on every compilation (keep such rules cheap).
   * A wrong claim makes incremental and full compilations disagree: the property test catches it.
   */
  scope?: 'file' | 'shard';
  check(ctx: RuleContext): void;
}

/** A rule whose findings are raised by the loader itself (file and YAML problems); it documents the id. */
export function loaderRule(id: string, summary: string): Rule {
  return { id, severity: 'error', summary, scope: 'file', check: () => {} };
}

export type { Finding };
