// `plan --comment github|gitlab`: one sticky comment on the pull/merge request, found again by a
// hidden marker and edited in place on every push. The Actions GITHUB_TOKEN cannot call GET /user,
// so "our" comment is the one carrying the marker, not the one written by our user.
import { readFileSync } from 'node:fs';
import { createGitHost, DEFAULT_API_BASE, GitHostError, type GitHost, type GitHostKind, type HostComment } from '../../core/githost/index.ts';

export const PLAN_MARKER = '<!-- promshard-plan -->';

export interface CommentTarget {
  kind: GitHostKind;
  apiBase: string;
  repo: string;
  number: number;
  token: string;
  /** Where the full plan can be read when the comment is cut (the CI job's page). */
  jobUrl?: string;
}

/** Why a comment cannot be posted from this environment: printed as is, the plan's verdict unchanged. */
export class CommentNotPossible extends Error {}

type Env = Record<string, string | undefined>;

function pullNumberFromGitHub(env: Env): number | undefined {
  if (env.GITHUB_EVENT_PATH) {
    try {
      const event = JSON.parse(readFileSync(env.GITHUB_EVENT_PATH, 'utf8')) as { pull_request?: { number?: unknown }; number?: unknown; issue?: { number?: unknown } };
      const n = event.pull_request?.number ?? event.issue?.number ?? event.number;
      if (typeof n === 'number' && Number.isInteger(n) && n > 0) return n;
    } catch {
      // fall back to GITHUB_REF below
    }
  }
  const m = /^refs\/pull\/(\d+)\/(merge|head)$/.exec(env.GITHUB_REF ?? '');
  return m ? Number(m[1]) : undefined;
}

/** The PR/MR, host and token from the CI's usual environment variables. */
export function commentTargetFromEnv(kind: GitHostKind, env: Env = process.env): CommentTarget {
  if (kind === 'github') {
    const token = env.GITHUB_TOKEN || env.GH_TOKEN;
    if (!token) throw new CommentNotPossible('GITHUB_TOKEN is not set: give the step `env: GITHUB_TOKEN: ${{ github.token }}` and `permissions: pull-requests: write`');
    const repo = env.GITHUB_REPOSITORY;
    if (!repo) throw new CommentNotPossible('GITHUB_REPOSITORY is not set: not running in GitHub Actions?');
    const number = pullNumberFromGitHub(env);
    if (!number) throw new CommentNotPossible('no pull request number in GITHUB_EVENT_PATH nor GITHUB_REF (refs/pull/N/merge): run on `pull_request` events');
    const server = env.GITHUB_SERVER_URL ?? 'https://github.com';
    const jobUrl = env.GITHUB_RUN_ID ? `${server}/${repo}/actions/runs/${env.GITHUB_RUN_ID}` : undefined;
    return { kind, apiBase: env.GITHUB_API_URL || DEFAULT_API_BASE.github, repo, number, token, jobUrl };
  }
  const token = env.GITLAB_TOKEN || env.PROMSHARD_GITLAB_TOKEN;
  if (!token) {
    if (env.CI_JOB_TOKEN) {
      throw new CommentNotPossible(
        "only CI_JOB_TOKEN is available, and GitLab's job token cannot write merge request notes: create a project (or group) access token with the `api` scope and Reporter role, and store it as a masked CI/CD variable GITLAB_TOKEN",
      );
    }
    throw new CommentNotPossible('GITLAB_TOKEN is not set (a project or group access token with the `api` scope)');
  }
  const repo = env.CI_PROJECT_ID;
  if (!repo) throw new CommentNotPossible('CI_PROJECT_ID is not set: not running in GitLab CI?');
  const number = Number(env.CI_MERGE_REQUEST_IID);
  if (!Number.isInteger(number) || number <= 0) throw new CommentNotPossible('CI_MERGE_REQUEST_IID is not set: run in a merge request pipeline (`rules: - if: $CI_PIPELINE_SOURCE == "merge_request_event"`)');
  return { kind, apiBase: env.CI_API_V4_URL || DEFAULT_API_BASE.gitlab, repo, number, token, jobUrl: env.CI_JOB_URL };
}

/**
 * The comment's body: the marker, then the plan. A plan longer than the host accepts is cut at a line
 * boundary, any <details> left open is closed, and a note says where the whole plan is.
 */
export function commentBody(markdown: string, maxLength: number, jobUrl: string | undefined): string {
  const whole = `${PLAN_MARKER}\n${markdown}`;
  if (whole.length <= maxLength) return whole;
  const where = jobUrl ? `the full plan is in [the CI job's log](${jobUrl})` : 'the full plan is in the CI job\'s log';
  const note = `\n\n---\n:scissors: This plan is ${markdown.length} characters long, more than a comment can hold here; it was cut, and ${where}.\n`;
  const closers = '\n</details>'.repeat(8);
  let cut = whole.slice(0, Math.max(0, maxLength - note.length - closers.length));
  cut = cut.slice(0, Math.max(PLAN_MARKER.length + 1, cut.lastIndexOf('\n')));
  const open = (cut.match(/<details\b/g) ?? []).length - (cut.match(/<\/details>/g) ?? []).length;
  return cut + '\n</details>'.repeat(Math.max(0, Math.min(open, 8))) + note;
}

export interface PostedComment {
  action: 'created' | 'updated';
  id: number;
  length: number;
  truncated: boolean;
}

/**
 * Creates the plan comment, or edits ours among those carrying the marker; extra marked copies are
 * left as they are. Anyone can paste the marker into a comment of their own, and a token with write
 * access may be able to edit it: a person's comment is never taken over. Ours is a marked comment by a
 * bot (the Actions token writes as github-actions[bot]), else one by the token's own user when the
 * host says who that is (GET /user; a personal or project access token), else, when the host tells no
 * authors at all, the first marked one. One we may not edit after all (403/404) gets a new comment.
 */
export async function postPlanComment(host: GitHost, number: number, markdown: string, jobUrl?: string): Promise<PostedComment> {
  const body = commentBody(markdown, host.maxCommentLength, jobUrl);
  const truncated = body.length < PLAN_MARKER.length + 1 + markdown.length;
  const marked = (c: HostComment) => c.body.startsWith(PLAN_MARKER);
  const comments = (await host.listComments(number, (c) => marked(c) && c.bot === true)).filter(marked);
  let existing = comments.find((c) => c.bot === true);
  if (!existing && comments.length) {
    const me = await host.whoAmI();
    existing = me ? comments.find((c) => c.author === me) : comments.find((c) => c.bot === undefined && c.author === undefined);
  }
  if (existing) {
    try {
      const updated = await host.updateComment(number, existing.id, body);
      return { action: 'updated', id: updated.id, length: body.length, truncated };
    } catch (err) {
      if (!(err instanceof GitHostError && (err.status === 403 || err.status === 404))) throw err;
    }
  }
  const created = await host.createComment(number, body);
  return { action: 'created', id: created.id, length: body.length, truncated };
}

export function hostFor(target: CommentTarget): GitHost {
  // A CI step should not hang on a slow host: 15 s a request, rate-limit waits up to 60 s.
  return createGitHost({ kind: target.kind, repo: target.repo, apiBase: target.apiBase, token: target.token, timeoutMs: 15_000, maxWaitMs: 60_000 });
}
