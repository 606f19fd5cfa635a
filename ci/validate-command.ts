// `promshard validate`: every finding at once, with file:line:col. Exit 0 valid, 1 errors, 2 usage/internal.
import { execFileSync } from 'node:child_process';
import { parseFlags, UsageError } from '../cli/args.ts';
import { compileRepository } from '../core/compiler/compile-repository.ts';
import { ALL_RULES } from './rules/index.ts';
import { readRepositoryFromDirectory, readRepositoryFromGit } from '../core/repository/repository-source.ts';
import { compareFindings, hasErrors, type Finding } from '../core/findings/finding.ts';
import { FORMATS, formatFindings, type Format } from './output/format-findings.ts';
import { displayPathFor, gitLocation, gitRefExists, resolveRepositoryDir } from './repository-location.ts';

const HELP = `usage: promshard validate [--repo DIR] [--format text|github|json|sarif] [--base REF]

Checks every file of the configuration repository and prints every finding at once.
  --repo DIR     the folder holding shards.yaml, or a git root whose scrape-configs/ holds it (default: .)
  --format F     text (default), github (workflow annotations), json, sarif (2.1.0)
  --base REF     judge a change: findings on files changed since REF (and new findings the change
                 causes elsewhere) are errors; findings that already existed at REF are warnings
Exit status: 0 valid, 1 error findings, 2 usage or internal failure.
`;

export async function run(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, { repo: { type: 'string' }, format: { type: 'string', default: 'text' }, base: { type: 'string' }, help: { type: 'boolean', short: 'h' } });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const format = values.format as Format;
  if (!FORMATS.includes(format)) throw new UsageError(`--format must be one of ${FORMATS.join(', ')}`);
  const repoDir = resolveRepositoryDir(values.repo);
  const source = readRepositoryFromDirectory(repoDir);
  const compilation = compileRepository(source, { rules: ALL_RULES, withModel: false });
  let findings = compilation.findings;
  if (values.base) findings = await judgeAgainstBase(findings, repoDir, values.base);
  process.stdout.write(
    formatFindings(format, findings, { displayPath: displayPathFor(repoDir), color: format === 'text' && !!process.stdout.isTTY && !process.env.NO_COLOR, filesChecked: source.files.length }),
  );
  return hasErrors(findings) ? 1 : 0;
}

const identity = (f: Finding) => `${f.ruleId}\u0000${f.file}\u0000${f.message}`;

/**
 * A change is blamed for findings on the files it touches and for new findings anywhere else (a new
 * duplicate of an untouched job); what was already wrong at the base is shown as a warning only.
 */
export async function judgeAgainstBase(findings: Finding[], repoDir: string, base: string): Promise<Finding[]> {
  const { gitDir, subdir } = gitLocation(repoDir);
  if (!gitRefExists(gitDir, base)) throw new UsageError(`--base ${base}: no such commit`);
  const prefix = subdir ? subdir + '/' : '';
  const changed = new Set(
    execFileSync('git', ['-C', gitDir, 'diff', '--name-only', '--no-renames', base, '--', subdir || '.'], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean)
      .map((p) => (prefix && p.startsWith(prefix) ? p.slice(prefix.length) : p)),
  );
  for (const p of execFileSync('git', ['-C', gitDir, 'ls-files', '--others', '--exclude-standard', '--', subdir || '.'], { encoding: 'utf8' }).split('\n').filter(Boolean)) {
    changed.add(prefix && p.startsWith(prefix) ? p.slice(prefix.length) : p);
  }
  const before = new Set(compileRepository(await readRepositoryFromGit(gitDir, base, subdir), { rules: ALL_RULES, withModel: false }).findings.map(identity));
  return findings
    .map((f): Finding => (changed.has(f.file) || !before.has(identity(f)) ? f : { ...f, severity: 'warning', message: `${f.message} (already present at ${base})` }))
    .sort(compareFindings);
}
