// Renders findings for people and machines: text (one per line), GitHub workflow annotations, JSON, SARIF 2.1.0.
import type { Finding } from '../../core/findings/finding.ts';
import { ALL_RULES } from '../rules/index.ts';
import { escapeUnsafeCharacters } from '../../core/text/unsafe-characters.ts';

// Text shown to a person (a terminal, a GitHub annotation) has every control, invisible and bidi
// character made visible (`\u202e`): a file name or value from the repository cannot reorder, hide or
// rewrite the line it is printed in. JSON and SARIF keep exact strings (JSON escaping is theirs).
const visible = (s: string) => escapeUnsafeCharacters(s);

export const FORMATS = ['text', 'github', 'json', 'sarif'] as const;
export type Format = (typeof FORMATS)[number];

export interface FormatOptions {
  /** Maps a repository path to the path shown (relative to where the user runs the command). */
  displayPath: (file: string) => string;
  color: boolean;
  filesChecked: number;
}

const RULES_DOC = 'https://github.com/promshard/promshard/blob/main/docs/rules.md';

function counts(findings: readonly Finding[]) {
  const errors = findings.filter((f) => f.severity === 'error').length;
  return { errors, warnings: findings.length - errors };
}

export function summaryLine(findings: readonly Finding[], filesChecked: number): string {
  const { errors, warnings } = counts(findings);
  return `${filesChecked} file(s) checked: ${errors} error(s), ${warnings} warning(s)`;
}

export function formatText(findings: readonly Finding[], opts: FormatOptions): string {
  const paint = (code: string, s: string) => (opts.color ? `\x1b[${code}m${s}\x1b[0m` : s);
  const lines = findings.map((f) => {
    const sev = f.severity === 'error' ? paint('31', 'error') : paint('33', 'warning');
    let line = `${visible(opts.displayPath(f.file))}:${f.start.line}:${f.start.column}: ${sev} [${f.ruleId}] ${visible(f.message)}`;
    if (f.hint) line += `\n    hint: ${visible(f.hint)}`;
    return line;
  });
  lines.push(summaryLine(findings, opts.filesChecked));
  return lines.join('\n') + '\n';
}

/** GitHub workflow commands; property values and messages are escaped as the runner requires. */
export function formatGithub(findings: readonly Finding[], opts: FormatOptions): string {
  const prop = (s: string) => visible(s).replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A').replace(/:/g, '%3A').replace(/,/g, '%2C');
  const data = (s: string) => visible(s).replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
  const lines = findings.map((f) => {
    const kind = f.severity === 'error' ? 'error' : 'warning';
    const props = `file=${prop(opts.displayPath(f.file))},line=${f.start.line},col=${f.start.column},endLine=${f.end.line},endColumn=${f.end.column},title=${prop(f.ruleId)}`;
    return `::${kind} ${props}::${data(f.message)}${f.hint ? `%0Ahint: ${data(f.hint)}` : ''}`;
  });
  // GitHub shows at most 10 annotations per step, so a plain summary of every finding follows.
  lines.push(`::group::promshard: ${summaryLine(findings, opts.filesChecked)}`);
  for (const f of findings) lines.push(`${visible(opts.displayPath(f.file))}:${f.start.line}:${f.start.column}: ${f.severity} [${f.ruleId}] ${visible(f.message)}`);
  lines.push('::endgroup::');
  return lines.join('\n') + '\n';
}

export function formatJson(findings: readonly Finding[], opts: FormatOptions): string {
  const { errors, warnings } = counts(findings);
  return (
    JSON.stringify(
      { valid: errors === 0, filesChecked: opts.filesChecked, errors, warnings, findings: findings.map((f) => ({ ...f, file: opts.displayPath(f.file) })) },
      null,
      2,
    ) + '\n'
  );
}

export function formatSarif(findings: readonly Finding[], opts: FormatOptions): string {
  const usedRules = ALL_RULES.filter((r) => findings.some((f) => f.ruleId === r.id) || true);
  const sarif = {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'promshard',
            informationUri: RULES_DOC,
            rules: usedRules.map((r) => ({
              id: r.id,
              shortDescription: { text: r.summary },
              helpUri: `${RULES_DOC}#${r.id}`,
              defaultConfiguration: { level: r.severity === 'error' ? 'error' : 'warning' },
            })),
          },
        },
        results: findings.map((f) => ({
          ruleId: f.ruleId,
          level: f.severity === 'error' ? 'error' : 'warning',
          message: { text: f.message + (f.hint ? ` (hint: ${f.hint})` : '') },
          locations: [
            {
              physicalLocation: {
                artifactLocation: { uri: opts.displayPath(f.file) },
                region: { startLine: f.start.line, startColumn: f.start.column, endLine: f.end.line, endColumn: f.end.column },
              },
            },
          ],
          ...(f.related?.length
            ? {
                relatedLocations: f.related.map((r, i) => ({
                  id: i + 1,
                  message: { text: r.message },
                  physicalLocation: { artifactLocation: { uri: opts.displayPath(r.file) }, region: { startLine: r.start.line, startColumn: r.start.column } },
                })),
              }
            : {}),
        })),
      },
    ],
  };
  return JSON.stringify(sarif, null, 2) + '\n';
}

export function formatFindings(format: Format, findings: readonly Finding[], opts: FormatOptions): string {
  switch (format) {
    case 'text':
      return formatText(findings, opts);
    case 'github':
      return formatGithub(findings, opts);
    case 'json':
      return formatJson(findings, opts);
    case 'sarif':
      return formatSarif(findings, opts);
  }
}
