// What promshard asks of a git host, the same for GitHub and GitLab: comments on a pull/merge request,
// commit statuses, and (for the cardinality fix) a branch, a file commit and a pull/merge request.
import type { GitHostHttpOptions } from './http-client.ts';

export type GitHostKind = 'github' | 'gitlab';

export interface HostComment {
  id: number;
  body: string;
  /** Written by a bot or app account (GitHub's user.type "Bot"), when the host says so. */
  bot?: boolean;
  /** The author's login (GitHub) or username (GitLab). */
  author?: string;
}

/**
 * promshard's own states, spelled per host: `failure` is GitLab's `failed`; `running` (the rollout is
 * under way) is GitHub's `pending`, which has no such state.
 */
export type CommitState = 'pending' | 'running' | 'success' | 'failure';

export interface CommitStatus {
  state: CommitState;
  /** One per shard: `promshard/<shard>`. */
  context: string;
  /** Cut to the host's limit (GitHub ~140 characters, GitLab 255) by the client. */
  description: string;
  targetUrl?: string;
}

export interface FileAtRef {
  content: string;
  /** GitHub: the blob sha an update must name; GitLab: the last commit id (informative). */
  sha: string;
}

export interface OpenedChange {
  /** PR number (GitHub) or MR iid (GitLab). */
  number: number;
  url: string;
}

export interface GitHost {
  readonly kind: GitHostKind;
  /** owner/name (GitHub) or numeric id or url path (GitLab). */
  readonly repo: string;
  /** Longest comment body the host accepts (GitHub 65,536 characters, GitLab 1,000,000). */
  readonly maxCommentLength: number;
  /** Longest status description (GitHub 140, GitLab 255). */
  readonly maxStatusDescription: number;
  /** The token's own login, or undefined when the host will not say (the Actions GITHUB_TOKEN cannot call GET /user). */
  whoAmI(): Promise<string | undefined>;
  /** Comments (notes) on the PR/MR; `stop` ends the walk once it matches. */
  listComments(number: number, stop?: (c: HostComment) => boolean): Promise<HostComment[]>;
  createComment(number: number, body: string): Promise<HostComment>;
  updateComment(number: number, id: number, body: string): Promise<HostComment>;
  setCommitStatus(sha: string, status: CommitStatus): Promise<void>;
  /** The commit a branch points at. */
  branchHead(branch: string): Promise<string>;
  createBranch(branch: string, fromSha: string): Promise<void>;
  /** The file's content at a branch or commit, or undefined when it does not exist there. */
  getFile(path: string, ref: string): Promise<FileAtRef | undefined>;
  /** Creates or replaces one file on a branch as one commit; returns the new commit's sha. */
  putFile(opts: { branch: string; path: string; content: string; message: string; previous?: FileAtRef }): Promise<string>;
  openChangeRequest(opts: { head: string; base: string; title: string; body: string }): Promise<OpenedChange>;
}

export interface GitHostConfig extends Omit<GitHostHttpOptions, 'authHeaders'> {
  kind: GitHostKind;
  repo: string;
  token: string;
  /** GitLab: send the token as JOB-TOKEN (CI_JOB_TOKEN) rather than PRIVATE-TOKEN. */
  jobToken?: boolean;
}

/** Cuts text to `max` characters (code points kept whole), marking the cut with an ellipsis. */
export function cutTo(text: string, max: number): string {
  const chars = [...text];
  return chars.length <= max ? text : chars.slice(0, max - 1).join('') + '…';
}
