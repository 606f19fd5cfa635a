// Finding an open pull/merge request by its head branch: what makes `promshard fix --open-pr`
// idempotent (a second run reports the first run's PR instead of opening another). Kept beside the
// client (core/githost/) rather than in it, as a function over its HTTP side.
import type { GitHost, OpenedChange } from './git-host.ts';
import { GitHubHost } from './github.ts';
import { GitLabHost } from './gitlab.ts';

const enc = encodeURIComponent;

/** The open PR (GitHub) or MR (GitLab) whose head is `branch` of this repository, if any. */
export async function findOpenChangeRequest(host: GitHost, branch: string): Promise<OpenedChange | undefined> {
  if (host instanceof GitHubHost) {
    // `head` must be `owner:branch`; the branch lives in this repository, so the owner is the repo's.
    const owner = host.repo.split('/')[0]!;
    const path = `${host.prefix}/pulls?state=open&head=${enc(`${owner}:${branch}`)}&per_page=100`;
    const pulls = await host.http.paginate<{ number: number; html_url: string; head?: { ref?: string } }>(path, (p) => p.head?.ref === branch);
    const hit = pulls.find((p) => p.head?.ref === branch);
    return hit ? { number: hit.number, url: hit.html_url } : undefined;
  }
  if (host instanceof GitLabHost) {
    const path = `${host.prefix}/merge_requests?state=opened&source_branch=${enc(branch)}&per_page=100`;
    const mrs = await host.http.paginate<{ iid: number; web_url: string; source_branch?: string }>(path, (m) => m.source_branch === branch);
    const hit = mrs.find((m) => m.source_branch === branch);
    return hit ? { number: hit.iid, url: hit.web_url } : undefined;
  }
  throw new Error(`finding a change request is not implemented for ${host.kind}`);
}
