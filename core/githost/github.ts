// GitHub REST (github.com and GitHub Enterprise Server at https://host/api/v3).
import { GitHostHttp } from './http-client.ts';
import { cutTo, type CommitStatus, type FileAtRef, type GitHost, type GitHostConfig, type HostComment, type OpenedChange } from './git-host.ts';

const enc = encodeURIComponent;
const pathSegments = (p: string) => p.split('/').map(enc).join('/');

export class GitHubHost implements GitHost {
  readonly kind = 'github' as const;
  readonly maxCommentLength = 65_536;
  readonly maxStatusDescription = 140;
  readonly http: GitHostHttp;
  /** This repository's API path; pull-requests.ts builds on it too, so the two cannot disagree on encoding. */
  readonly prefix: string;

  constructor(readonly repo: string, config: Omit<GitHostConfig, 'kind' | 'repo'>) {
    if (!/^[^/\s]+\/[^/\s]+$/.test(repo)) throw new Error(`GitHub repository must be owner/name, got ${JSON.stringify(repo)}`);
    this.prefix = `repos/${pathSegments(repo)}`;
    this.http = new GitHostHttp({
      ...config,
      authHeaders: { authorization: `Bearer ${config.token}`, accept: 'application/vnd.github+json', 'x-github-api-version': '2022-11-28' },
    });
  }

  async listComments(number: number, stop?: (c: HostComment) => boolean): Promise<HostComment[]> {
    type Raw = { id: number; body: string | null; user?: { type?: string; login?: string } | null };
    const view = (c: Raw): HostComment => ({ id: c.id, body: c.body ?? '', bot: c.user?.type === 'Bot', author: c.user?.login });
    const all = await this.http.paginate<Raw>(`${this.prefix}/issues/${number}/comments?per_page=100`, stop ? (c) => stop(view(c)) : undefined);
    return all.map(view);
  }

  whoAmI(): Promise<string | undefined> {
    return this.http.currentUser('login');
  }

  async createComment(number: number, body: string): Promise<HostComment> {
    const res = await this.http.request<{ id: number; body: string }>('POST', `${this.prefix}/issues/${number}/comments`, { body });
    return { id: res.body.id, body: res.body.body };
  }

  async updateComment(_number: number, id: number, body: string): Promise<HostComment> {
    const res = await this.http.request<{ id: number; body: string }>('PATCH', `${this.prefix}/issues/comments/${id}`, { body });
    return { id: res.body.id, body: res.body.body };
  }

  async setCommitStatus(sha: string, s: CommitStatus): Promise<void> {
    await this.http.request('POST', `${this.prefix}/statuses/${enc(sha)}`, {
      state: s.state === 'running' ? 'pending' : s.state,
      context: s.context,
      description: cutTo(s.description, this.maxStatusDescription),
      ...(s.targetUrl ? { target_url: s.targetUrl } : {}),
    });
  }

  async branchHead(branch: string): Promise<string> {
    const res = await this.http.request<{ object: { sha: string } }>('GET', `${this.prefix}/git/ref/heads/${pathSegments(branch)}`);
    return res.body.object.sha;
  }

  async createBranch(branch: string, fromSha: string): Promise<void> {
    await this.http.request('POST', `${this.prefix}/git/refs`, { ref: `refs/heads/${branch}`, sha: fromSha });
  }

  async getFile(path: string, ref: string): Promise<FileAtRef | undefined> {
    const res = await this.http.getIfFound<{ content: string; encoding: string; sha: string }>(`${this.prefix}/contents/${pathSegments(path)}?ref=${enc(ref)}`);
    return res && { content: Buffer.from(res.body.content, 'base64').toString('utf8'), sha: res.body.sha };
  }

  async putFile(o: { branch: string; path: string; content: string; message: string; previous?: FileAtRef }): Promise<string> {
    const res = await this.http.request<{ commit: { sha: string } }>('PUT', `${this.prefix}/contents/${pathSegments(o.path)}`, {
      message: o.message,
      content: Buffer.from(o.content, 'utf8').toString('base64'),
      branch: o.branch,
      ...(o.previous ? { sha: o.previous.sha } : {}),
    });
    return res.body.commit.sha;
  }

  async openChangeRequest(o: { head: string; base: string; title: string; body: string }): Promise<OpenedChange> {
    const res = await this.http.request<{ number: number; html_url: string }>('POST', `${this.prefix}/pulls`, { title: o.title, head: o.head, base: o.base, body: o.body });
    return { number: res.body.number, url: res.body.html_url };
  }
}
