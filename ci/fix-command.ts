// `promshard fix FLAG --open-pr`: turns a cardinality flag into a pull/merge request that carries the
// fix already merged into the team file, or (without --open-pr) prints the change as a diff.
//
// How: the flag comes from the controller (GET /v1/flags, checked against the protocol schema) or
// from a file; the base branch is checked out in a temporary directory (a clone of the remote, or a
// linked worktree of the user's repository so that its git credentials apply); the job's
// metric_relabel_configs is extended in place (core/cardinality-fix); the whole repository is compiled
// as `validate` does, and any error refuses the fix; the commit goes to the branch
// `promshard/fix-<key>` with a plain git push; the PR/MR is opened through the git host's API.
// A second run finds the open PR by its branch and opens nothing.
import { ControllerReader } from './controller-reader.ts';
import { readFileSync } from 'node:fs';
import { parseFlags, UsageError } from '../cli/args.ts';
import { readTokenFile } from '../core/http/auth.ts';
import { validateProtocol } from '../core/protocol/protocol-validator.ts';
import type { CardinalityFlag } from '../core/protocol/cardinality-flag.ts';
import { escapeUnsafeCharacters } from '../core/text/unsafe-characters.ts';
import { createGitHost, DEFAULT_API_BASE, type GitHostKind } from '../core/githost/index.ts';
import { FixRefused } from '../core/cardinality-fix/edit-team-file.ts';
import { openFixPullRequest } from './fix/open-fix-pr.ts';
import { flagKey, flagMatches } from '../core/cardinality-fix/flag-key.ts';

const HELP = `usage: promshard fix FLAG [--controller URL --token-file F | --flag-file F] [--repo DIR|URL] [--base BRANCH]
                    [--open-pr --githost github|gitlab --githost-repo REPO [--githost-api URL]
                     [--githost-token-file F] [--mention @handle ...]]

Applies a cardinality flag's suggested fix to the owning team file: its rules are added at the end of
the job's metric_relabel_configs (the team's own rules, comments and formatting are kept), and the
whole repository must pass \`promshard validate\` or nothing is done.
  FLAG                 the flag's id (shard/job/metric/label) or its 12-character key (dashboard, /v1/flags)
  --controller URL     the controller to read the flag from (GET /v1/flags); --token-file: its read token
                       (default: the PROMSHARD_TOKEN environment variable)
  --flag-file F        read the flag from F instead (a flag, or a /v1/flags answer, as JSON)
  --repo DIR|URL       the configuration repository: a work tree (its origin is used), a bare repository
                       or a URL (default: .). The base branch is checked out in a temporary directory
                       (a worktree of your repository, so its git credentials apply); your checkout is not touched.
  --base BRANCH        the branch to fix and to open the PR against (default: main)
Without --open-pr the fix is printed as a diff and nothing is pushed. With --open-pr the commit is
pushed (plain git push, your usual credentials) to the branch promshard/fix-<key> and a PR (GitHub) or
MR (GitLab) is opened; if one is already open for that branch it is reported and nothing else is done.
  --githost KIND       github or gitlab
  --githost-repo REPO  owner/name (GitHub) or the project's id or path (GitLab)
  --githost-api URL    API base (default ${DEFAULT_API_BASE.github} or ${DEFAULT_API_BASE.gitlab};
                       GitHub Enterprise: https://HOST/api/v3, self-hosted GitLab: https://HOST/api/v4)
  --githost-token-file F  token with write access (default: GITHUB_TOKEN or GITLAB_TOKEN)
  --mention HANDLE     @-mention this handle (e.g. @acme/payments) in the PR body; repeatable
Exit status: 0 done (or already open), 1 the fix was refused (the reason is printed), 2 usage or failure.
`;

async function flagFromController(controller: string, token: string | undefined, given: string): Promise<CardinalityFlag> {
  const reader = new ControllerReader(controller, token, 15_000);
  return pickFlag(await reader.get('/v1/flags'), given, `controller ${reader.base}`);
}

function readJsonFile(path: string): unknown {
  const text = readFileSync(path, 'utf8');
  try {
    return JSON.parse(text);
  } catch (err) {
    // V8 says "at position N" (and, on newer versions, line and column): give file:line:col.
    const pos = Number(/position (\d+)/.exec((err as Error).message)?.[1] ?? 0);
    const before = text.slice(0, pos).split('\n');
    throw new UsageError(`${path}:${before.length}:${before[before.length - 1]!.length + 1}: not JSON (${(err as Error).message})`);
  }
}

function pickFlag(body: unknown, given: string, from: string): CardinalityFlag {
  const answer = Array.isArray(body) ? { flags: body } : body && typeof body === 'object' && 'flags' in body ? body : { flags: [body] };
  const checked = validateProtocol('flags', answer);
  if (!checked.ok) throw new Error(`${from}: the flags do not match the protocol: ${checked.error}`);
  const flag = checked.value.flags.find((f) => flagMatches(f.id, given));
  if (!flag) throw new FixRefused(`no raised flag ${JSON.stringify(escapeUnsafeCharacters(given))} at ${from} (it may have cleared; flags are listed on the dashboard's team pages and at GET /v1/flags)`);
  return flag;
}

export async function run(argv: string[]): Promise<number> {
  try {
    return await fix(argv);
  } catch (err) {
    if (!(err instanceof FixRefused)) throw err;
    process.stderr.write(`promshard fix: refused: ${escapeUnsafeCharacters(err.message, { keepNewlines: true })}\n`);
    return 1;
  }
}

async function fix(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags(
    argv,
    {
      controller: { type: 'string' },
      'token-file': { type: 'string' },
      'flag-file': { type: 'string' },
      repo: { type: 'string', default: '.' },
      base: { type: 'string', default: 'main' },
      'open-pr': { type: 'boolean' },
      githost: { type: 'string' },
      'githost-repo': { type: 'string' },
      'githost-api': { type: 'string' },
      'githost-token-file': { type: 'string' },
      mention: { type: 'string', multiple: true },
      help: { type: 'boolean', short: 'h' },
    },
    true,
  );
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError(`expected exactly one FLAG (its id or key), got ${positionals.length}\n${HELP}`);
  const given = positionals[0]!;
  if (!values.controller === !values['flag-file']) throw new UsageError('give either --controller URL or --flag-file F');
  const base = values.base!;
  if (!/^[A-Za-z0-9._/-]+$/.test(base) || base.startsWith('-')) throw new UsageError(`--base ${JSON.stringify(base)}: not a branch name`);

  // Settle the git host before any work, so that a missing token is a usage error, not a pushed branch without a PR.
  let host: ReturnType<typeof createGitHost> | undefined;
  if (values['open-pr']) {
    const kind = values.githost as GitHostKind | undefined;
    if (kind !== 'github' && kind !== 'gitlab') throw new UsageError('--open-pr needs --githost github|gitlab');
    if (!values['githost-repo']) throw new UsageError('--open-pr needs --githost-repo (owner/name on GitHub, the project id or path on GitLab)');
    const envName = kind === 'github' ? 'GITHUB_TOKEN' : 'GITLAB_TOKEN';
    const token = values['githost-token-file'] ? readTokenFile(values['githost-token-file']) : process.env[envName];
    if (!token) throw new UsageError(`--open-pr needs a ${kind} token: --githost-token-file F, or ${envName} in the environment`);
    host = createGitHost({ kind, repo: values['githost-repo'], token, apiBase: values['githost-api'] ?? DEFAULT_API_BASE[kind] });
  }
  for (const m of values.mention ?? []) if (!/^@[A-Za-z0-9][A-Za-z0-9_.\/-]*$/.test(m)) throw new UsageError(`--mention ${JSON.stringify(m)}: expected @user or @org/team`);

  const flag = values['flag-file']
    ? pickFlag(readJsonFile(values['flag-file']), given, values['flag-file'])
    : await flagFromController(values.controller!, values['token-file'] ? readTokenFile(values['token-file']) : process.env.PROMSHARD_TOKEN, given);

  const dashboardUrl = values.controller ? `${values.controller.replace(/\/+$/, '')}/teams/${encodeURIComponent(flag.team)}` : undefined;
  const r = await openFixPullRequest({ flag, repo: values.repo!, base, host, mentions: values.mention, dashboardUrl });
  const summary = escapeUnsafeCharacters(
    `${flag.fix.kind} fix for ${flag.label} on ${flag.metric}: ${r.prepared.edit.added.length} rule(s) added to job ${flag.job} in ${r.gitPath}, after its ${r.prepared.edit.kept} own; passes validate`,
  );
  if (r.kind === 'diff') {
    process.stdout.write(r.diff);
    process.stderr.write(`${summary}\n(not pushed: add --open-pr to open a pull/merge request)\n`);
  } else if (r.kind === 'already-open') {
    process.stdout.write(`already open: ${r.url} (branch ${r.branch}); nothing pushed\n`);
  } else {
    const what = host!.kind === 'github' ? 'pull request' : 'merge request';
    process.stdout.write(`opened ${what} ${r.url} (branch ${r.branch}${r.reusedBranch ? ', pushed by an earlier run' : ''}, key ${flagKey(flag.id)})\n${summary}\n`);
  }
  return 0;
}
