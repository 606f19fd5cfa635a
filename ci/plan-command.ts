// `promshard plan --base REF [--head REF]`: reads both trees straight from git and prints, per shard,
// what the change does. With --controller it also checks the live fleet (flags, series budget).
import { readFileSync } from 'node:fs';
import { parseFlags, UsageError } from '../cli/args.ts';
import { compileRepository } from '../core/compiler/compile-repository.ts';
import { readRepositoryFromDirectory, readRepositoryFromGit, type RepositorySource } from '../core/repository/repository-source.ts';
import { hasErrors } from '../core/findings/finding.ts';
import { computePlan } from './plan/compute-plan.ts';
import { formatPlanMarkdown, formatPlanText, type PlanExtras } from './plan/format-plan.ts';
import { gitLocation, gitRefExists, resolveRepositoryDir } from './repository-location.ts';
import { liveFleetNotes } from './plan/live-fleet-notes.ts';

const HELP = `usage: promshard plan --base REF [--head REF] [--repo DIR] [--format text|markdown|json]
                     [--controller URL --token-file FILE]

Compiles the repository at REF and at --head (default HEAD; "worktree" for uncommitted files) and
prints, for every shard the change touches: jobs added/removed/changed, targets added/removed, and
the shard's targets against its budget. With --controller it warns about touched jobs that carry
cardinality flags and estimates the series added targets bring against max_series.
Exit status: 0 fine, 1 the head is invalid or a shard goes over budget, 2 usage or internal failure.
`;

/** Paths whose bytes differ between the two revisions (added, removed or edited). */
function changedPaths(a: RepositorySource, b: RepositorySource): Set<string> {
  const before = new Map(a.files.map((f) => [f.path, f.bytes]));
  const changed = new Set<string>();
  for (const f of b.files) {
    const old = before.get(f.path);
    if (!old || !f.bytes || !old.equals(f.bytes)) changed.add(f.path);
    before.delete(f.path);
  }
  for (const path of before.keys()) changed.add(path);
  return changed;
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, {
    base: { type: 'string' },
    head: { type: 'string', default: 'HEAD' },
    repo: { type: 'string' },
    format: { type: 'string', default: 'text' },
    controller: { type: 'string' },
    'token-file': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (!values.base) throw new UsageError('--base REF is required\n' + HELP);
  if (!['text', 'markdown', 'json'].includes(values.format!)) throw new UsageError('--format must be text, markdown or json');
  const repoDir = resolveRepositoryDir(values.repo);
  const { gitDir, subdir } = gitLocation(repoDir);
  for (const ref of [values.base, values.head!]) if (ref !== 'worktree' && !gitRefExists(gitDir, ref)) throw new UsageError(`no such commit: ${ref}`);
  const [baseSource, headSource] = await Promise.all([
    readRepositoryFromGit(gitDir, values.base, subdir),
    values.head === 'worktree' ? Promise.resolve(readRepositoryFromDirectory(repoDir)) : readRepositoryFromGit(gitDir, values.head!, subdir),
  ]);
  // The base's findings are not shown (they are the base's own business): its model is enough.
  const base = compileRepository(baseSource, { withRules: false });
  const head = compileRepository(headSource);
  const plan = computePlan(base.model, head.model, changedPaths(baseSource, headSource));
  const extras: PlanExtras = { base: values.base, head: values.head!, headFindings: head.findings, liveNotes: [] };
  if (values.controller) {
    const token = values['token-file'] ? readFileSync(values['token-file'], 'utf8').trim() : process.env.PROMSHARD_TOKEN;
    extras.liveNotes = await liveFleetNotes(values.controller, token, plan, head.model);
  }
  if (values.format === 'json') process.stdout.write(JSON.stringify({ ...plan, findings: head.findings, liveNotes: extras.liveNotes }, null, 2) + '\n');
  else if (values.format === 'markdown') process.stdout.write(formatPlanMarkdown(plan, extras));
  else process.stdout.write(formatPlanText(plan, extras));
  const failed = hasErrors(head.findings) || plan.shards.some((s) => s.overBudget) || extras.liveNotes.some((n) => n.severity === 'error');
  return failed ? 1 : 0;
}
