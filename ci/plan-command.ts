// `promshard plan --base REF [--head REF]`: reads both trees straight from git and prints, per shard,
// what the change does. With --controller it also checks the live fleet (flags, series budget).
import { readFileSync } from 'node:fs';
import { parseFlags, UsageError } from '../cli/args.ts';
import { compileRepository } from '../core/compiler/compile-repository.ts';
import { ALL_RULES } from './rules/index.ts';
import { readRepositoryFromDirectory, readRepositoryFromGit, type RepositorySource } from '../core/repository/repository-source.ts';
import { hasErrors } from '../core/findings/finding.ts';
import { computePlan } from './plan/compute-plan.ts';
import { formatPlanMarkdown, formatPlanText, type PlanExtras } from './plan/format-plan.ts';
import { gitLocation, gitRefExists, resolveRepositoryDir } from './repository-location.ts';
import { liveFleetNotes } from './plan/live-fleet-notes.ts';
import { ControllerReader } from './controller-reader.ts';
import { estimateSplits, formatSplitEstimates, type LiveJobSeries, type ShardSplitEstimate } from './plan/split-estimate.ts';
import { formatReshardNotes, reshardNotes } from './plan/reshard-notes.ts';
import { CommentNotPossible, commentTargetFromEnv, hostFor, postPlanComment } from './plan/pr-comment.ts';

const HELP = `usage: promshard plan --base REF [--head REF] [--repo DIR] [--format text|markdown|json]
                     [--controller URL --token-file FILE] [--comment github|gitlab [--comment-required]]
                     [--suggest-split] [--skew PERCENT]

Compiles the repository at REF and at --head (default HEAD; "worktree" for uncommitted files) and
prints, for every shard the change touches: jobs added/removed/changed, targets added/removed, and
the shard's targets against its budget. With --controller it warns about touched jobs that carry
cardinality flags and estimates the series added targets bring against max_series.

Split shards (split: N in shards.yaml) get an estimate per split: the static targets each split keeps
(the same hashmod Prometheus applies) and, with --controller, their series (each job's live series
over its live targets). It warns when a split is over the shard's budget or more than --skew percent
(default 25) above the mean of its splits. --suggest-split proposes, for every shard, the smallest
split count that keeps every split under budget, with its predicted skew.

--comment github|gitlab posts the plan (Markdown, with the findings grouped by file) as ONE comment
on the pull/merge request, edited in place on every push (found by <!-- promshard-plan -->). The
host, the PR/MR and the token come from the CI's environment: GITHUB_TOKEN, GITHUB_REPOSITORY,
GITHUB_EVENT_PATH or GITHUB_REF, GITHUB_API_URL; GITLAB_TOKEN (project/group access token),
CI_PROJECT_ID, CI_MERGE_REQUEST_IID, CI_API_V4_URL (CI_JOB_TOKEN cannot write notes).
Exit status: 0 fine, 1 the head is invalid or a shard goes over budget, 2 usage or internal failure.
A comment that could not be posted is reported on stderr and does not change the exit status, unless
--comment-required is given: then it exits 3 when the plan itself was fine.
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
    comment: { type: 'string' },
    'comment-required': { type: 'boolean', default: false },
    'suggest-split': { type: 'boolean', default: false },
    skew: { type: 'string', default: '25' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (!values.base) throw new UsageError('--base REF is required\n' + HELP);
  if (!['text', 'markdown', 'json'].includes(values.format!)) throw new UsageError('--format must be text, markdown or json');
  if (values.comment !== undefined && values.comment !== 'github' && values.comment !== 'gitlab') throw new UsageError('--comment must be github or gitlab');
  if (!/^\d+(\.\d+)?$/.test(values.skew!)) throw new UsageError(`--skew "${values.skew}" must be a percentage such as 25`);
  const repoDir = resolveRepositoryDir(values.repo);
  const { gitDir, subdir } = gitLocation(repoDir);
  for (const ref of [values.base, values.head!]) if (ref !== 'worktree' && !gitRefExists(gitDir, ref)) throw new UsageError(`no such commit: ${ref}`);
  const [baseSource, headSource] = await Promise.all([
    readRepositoryFromGit(gitDir, values.base, subdir),
    values.head === 'worktree' ? Promise.resolve(readRepositoryFromDirectory(repoDir)) : readRepositoryFromGit(gitDir, values.head!, subdir),
  ]);
  // The base's findings are not shown (they are the base's own business): its model is enough.
  const base = compileRepository(baseSource, { rules: ALL_RULES, withRules: false });
  const head = compileRepository(headSource, { rules: ALL_RULES });
  const plan = computePlan(base.model, head.model, changedPaths(baseSource, headSource));
  const extras: PlanExtras = { base: values.base, head: values.head!, headFindings: head.findings, liveNotes: [] };
  const token = values['token-file'] ? readFileSync(values['token-file'], 'utf8').trim() : process.env.PROMSHARD_TOKEN;
  const controller = values.controller ? new ControllerReader(values.controller, token) : null;
  if (controller) extras.liveNotes = await liveFleetNotes(controller, plan, head.model);
  const splits = await splitEstimates(head.model, values, controller);
  const reshards = reshardNotes(base.model, head.model);
  const splitLines = [...formatReshardNotes(reshards), ...formatSplitEstimates(splits)];
  if (values.format === 'json') process.stdout.write(JSON.stringify({ ...plan, findings: head.findings, liveNotes: extras.liveNotes, splits, reshards }, null, 2) + '\n');
  else if (values.format === 'markdown') process.stdout.write(formatPlanMarkdown(plan, extras) + (splitLines.length ? `\n\`\`\`text${splitLines.join('\n')}\n\`\`\`\n` : ''));
  else process.stdout.write(formatPlanText(plan, extras) + (splitLines.length ? splitLines.slice(1).join('\n') + '\n' : ''));
  const failed = hasErrors(head.findings) || plan.shards.some((s) => s.overBudget) || extras.liveNotes.some((n) => n.severity === 'error');
  let commented = true;
  if (values.comment === 'github' || values.comment === 'gitlab') commented = await comment(values.comment, formatPlanMarkdown(plan, extras));
  return failed ? 1 : !commented && values['comment-required'] ? 3 : 0;
}

/**
 * Split estimates for the head: every split shard, and with --suggest-split every shard. Live series
 * come from the controller's GET /v1/series when --controller is given; without them (or when it does
 * not answer, said on stderr) the estimate rests on target counts.
 */
async function splitEstimates(
  model: import('../schemas/model.ts').CompiledRepository | null,
  values: { 'suggest-split'?: boolean; skew?: string },
  controller: ControllerReader | null,
): Promise<ShardSplitEstimate[]> {
  if (!model) return [];
  const shards = model.shards.filter((s) => values['suggest-split'] || (s.split?.count ?? 1) > 1);
  if (shards.length === 0) return [];
  let live: LiveJobSeries[] | null = null;
  if (controller) {
    try {
      live = (await controller.get<{ jobs?: LiveJobSeries[] }>('/v1/series')).jobs ?? [];
    } catch (err) {
      process.stderr.write(`promshard plan: the controller's live series could not be read (${(err as Error).message}); split estimates use target counts\n`);
    }
  }
  return shards.map((s) => estimateSplits(s, { live, skewLimitPercent: Number(values.skew ?? 25), suggest: values['suggest-split'] }));
}

/** Posts the sticky comment; every failure is said on stderr (never with the token) and returns false. */
async function comment(kind: 'github' | 'gitlab', markdown: string): Promise<boolean> {
  try {
    const target = commentTargetFromEnv(kind);
    const posted = await postPlanComment(hostFor(target), target.number, markdown, target.jobUrl);
    process.stderr.write(`promshard plan: ${posted.action} the plan comment ${posted.id} on ${kind === 'github' ? 'pull request' : 'merge request'} ${target.number}${posted.truncated ? ` (cut to ${posted.length} characters; the full plan is in this log)` : ''}\n`);
    return true;
  } catch (err) {
    const why = err instanceof CommentNotPossible ? err.message : `the git host refused or did not answer: ${(err as Error).message}`;
    process.stderr.write(`promshard plan: the plan comment was NOT posted: ${why}\n`);
    return false;
  }
}
