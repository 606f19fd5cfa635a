// GitLab REST v4 (gitlab.com and self-hosted at https://host/api/v4).
import { GitHostError, GitHostHttp } from './http-client.ts';
import { cutTo, type CommitStatus, type FileAtRef, type GitHost, type GitHostConfig, type HostComment, type OpenedChange } from './git-host.ts';

const enc = encodeURIComponent;
const STATE = { pending: 'pending', running: 'running', success: 'success', failure: 'failed' } as const;

export class GitLabHost implements GitHost {
  readonly kind = 'gitlab' as const;
  readonly maxCommentLength = 1_000_000;
  readonly maxStatusDescription = 255;
  readonly http: GitHostHttp;
  /** This repository's API path; pull-requests.ts builds on it too, so the two cannot disagree on encoding. */
  readonly prefix: string;

  constructor(readonly repo: string, config: Omit<GitHostConfig, 'kind' | 'repo'>) {
    if (!repo.trim()) throw new Error('GitLab project must be a numeric id or a path like group/project');
    // A path (group/sub/project) goes in one URL-encoded segment, as the API documents.
    this.prefix = `projects/${enc(repo)}`;
    this.http = new GitHostHttp({ ...config, authHeaders: config.jobToken ? { 'job-token': config.token } : { 'private-token': config.token } });
  }

  async listComments(number: number, stop?: (c: HostComment) => boolean): Promise<HostComment[]> {
    // Notes come newest first unless asked otherwise; the order does not matter for a marker search.
    type Raw = { id: number; body: string; system?: boolean; author?: { username?: string } };
    const view = (n: Raw): HostComment => ({ id: n.id, body: n.body, author: n.author?.username });
    const all = await this.http.paginate<Raw>(`${this.prefix}/merge_requests/${number}/notes?per_page=100`, stop ? (n) => !n.system && stop(view(n)) : undefined);
    return all.filter((n) => !n.system).map(view);
  }

  whoAmI(): Promise<string | undefined> {
    return this.http.currentUser('username');
  }

  async createComment(number: number, body: string): Promise<HostComment> {
    const res = await this.http.request<{ id: number; body: string }>('POST', `${this.prefix}/merge_requests/${number}/notes`, { body });
    return { id: res.body.id, body: res.body.body };
  }

  async updateComment(number: number, id: number, body: string): Promise<HostComment> {
    const res = await this.http.request<{ id: number; body: string }>('PUT', `${this.prefix}/merge_requests/${number}/notes/${id}`, { body });
    return { id: res.body.id, body: res.body.body };
  }

  async setCommitStatus(sha: string, s: CommitStatus): Promise<void> {
    try {
      await this.http.request('POST', `${this.prefix}/statuses/${enc(sha)}`, {
        state: STATE[s.state],
        name: s.context,
        description: cutTo(s.description, this.maxStatusDescription),
        ...(s.targetUrl ? { target_url: s.targetUrl } : {}),
      });
    } catch (err) {
      // GitLab refuses to "transition" a status to the state it is already in (400): the status the
      // caller wants is there, which is what a retry after a lost answer needs to hear.
      if (err instanceof GitHostError && err.status === 400 && /transition/i.test(err.hostMessage)) return;
      throw err;
    }
  }

  async branchHead(branch: string): Promise<string> {
    const res = await this.http.request<{ commit: { id: string } }>('GET', `${this.prefix}/repository/branches/${enc(branch)}`);
    return res.body.commit.id;
  }

  async createBranch(branch: string, fromSha: string): Promise<void> {
    await this.http.request('POST', `${this.prefix}/repository/branches?branch=${enc(branch)}&ref=${enc(fromSha)}`);
  }

  async getFile(path: string, ref: string): Promise<FileAtRef | undefined> {
    const res = await this.http.getIfFound<{ content: string; last_commit_id: string }>(`${this.prefix}/repository/files/${enc(path)}?ref=${enc(ref)}`);
    return res && { content: Buffer.from(res.body.content, 'base64').toString('utf8'), sha: res.body.last_commit_id };
  }

  async putFile(o: { branch: string; path: string; content: string; message: string; previous?: FileAtRef }): Promise<string> {
    const res = await this.http.request<{ id: string }>('POST', `${this.prefix}/repository/commits`, {
      branch: o.branch,
      commit_message: o.message,
      actions: [{ action: o.previous ? 'update' : 'create', file_path: o.path, content: Buffer.from(o.content, 'utf8').toString('base64'), encoding: 'base64' }],
    });
    return res.body.id;
  }

  async openChangeRequest(o: { head: string; base: string; title: string; body: string }): Promise<OpenedChange> {
    const res = await this.http.request<{ iid: number; web_url: string }>('POST', `${this.prefix}/merge_requests`, { source_branch: o.head, target_branch: o.base, title: o.title, description: o.body });
    return { number: res.body.iid, url: res.body.web_url };
  }
}
