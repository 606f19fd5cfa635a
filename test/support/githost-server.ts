// A loopback stand-in for GitHub (Enterprise Server form, /api/v3) and GitLab (/api/v4), for tests:
// neither host can be reached from here. It implements the endpoints promshard calls, as the public
// REST documentation defines them: paths, methods, status codes, `Link` pagination (GitHub's next
// links in the /repositories/<id>/… form, GitLab's X-Next-Page too), rate-limit answers with
// Retry-After, GitLab's 400 on a repeated identical status, notes newest first, and token scopes (a
// read-only token such as GitLab's CI_JOB_TOKEN or a fork's GITHUB_TOKEN is refused writes with 403).
//
// Controls let a test inject answers (500, 429 + Retry-After, anything) and latency, and read every
// request the server saw (never its headers' secrets: the log keeps method, path and status).
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHash } from 'node:crypto';

export type TokenScope = 'write' | 'read';

export interface GitHubComment {
  id: number;
  body: string;
  user: { login: string; type: 'Bot' | 'User' };
  created_at: string;
  updated_at: string;
}

export interface StoredStatus {
  sha: string;
  state: string;
  context: string;
  description: string;
  target_url: string | null;
  at: number;
}

interface Commit {
  sha: string;
  parent: string | null;
  message: string;
  files: Map<string, string>;
}

/** One repository on either host: its numeric id, branches as commits of whole file trees. */
export interface HostedRepo {
  id: number;
  name: string;
  commits: Map<string, Commit>;
  branches: Map<string, string>;
  /** PR/MR number → its comments (GitHub) or notes (GitLab), oldest first. */
  comments: Map<number, GitHubComment[]>;
  statuses: StoredStatus[];
  changeRequests: { number: number; head: string; base: string; title: string; body: string }[];
}

export interface InjectedAnswer {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
  /** Only requests whose method + path (e.g. "POST /api/v4/projects/1/statuses/abc") match. */
  match?: RegExp;
}

export interface SeenRequest {
  method: string;
  path: string;
  status: number;
  at: number;
  /** Which token class made it (never the token itself). */
  scope: TokenScope | 'none' | 'unknown';
}

export interface GitHostServer {
  url: string;
  githubApi: string;
  gitlabApi: string;
  /** Accept a token with a scope; `kind` picks the host whose credential form it is. */
  addToken(token: string, scope: TokenScope): void;
  /** A repository with one commit on `main` holding `files`; returns it. Name is owner/name (GitHub) or group/project (GitLab). */
  addRepo(host: 'github' | 'gitlab', name: string, files?: Record<string, string>): HostedRepo;
  repo(host: 'github' | 'gitlab', name: string): HostedRepo;
  /** Adds comments (or notes) written by someone else, for pagination. */
  seedComments(host: 'github' | 'gitlab', name: string, number: number, bodies: string[]): void;
  /** Files at a branch or commit. */
  filesAt(host: 'github' | 'gitlab', name: string, ref: string): Map<string, string> | undefined;
  /** The next `count` requests (matching `match`) get `answer` instead; count Infinity until cleared. */
  inject(answer: InjectedAnswer, count?: number): void;
  clearInjections(): void;
  latencyMs: number;
  /** Page size cap, so that a handful of comments already spans pages. */
  maxPerPage: number;
  requests: SeenRequest[];
  close(): Promise<void>;
}

const nowIso = () => new Date().toISOString();
const sha1 = (s: string) => createHash('sha1').update(s).digest('hex');

export async function startGitHostServer(): Promise<GitHostServer> {
  const app = express();
  const tokens = new Map<string, TokenScope>();
  const repos = { github: new Map<string, HostedRepo>(), gitlab: new Map<string, HostedRepo>() };
  const byId = { github: new Map<number, HostedRepo>(), gitlab: new Map<number, HostedRepo>() };
  let nextRepoId = 1000;
  let nextCommentId = 5000;
  const injections: { answer: InjectedAnswer; left: number }[] = [];
  let url = '';

  const server: GitHostServer = {
    url: '',
    githubApi: '',
    gitlabApi: '',
    latencyMs: 0,
    maxPerPage: 100,
    requests: [],
    addToken: (token, scope) => void tokens.set(token, scope),
    addRepo(host, name, files = {}) {
      const root: Commit = { sha: sha1(`${host}:${name}:root:${Math.random()}`), parent: null, message: 'initial', files: new Map(Object.entries(files)) };
      const repo: HostedRepo = { id: nextRepoId++, name, commits: new Map([[root.sha, root]]), branches: new Map([['main', root.sha]]), comments: new Map(), statuses: [], changeRequests: [] };
      repos[host].set(name, repo);
      byId[host].set(repo.id, repo);
      return repo;
    },
    repo(host, name) {
      const r = repos[host].get(name);
      if (!r) throw new Error(`no ${host} repository ${name}`);
      return r;
    },
    seedComments(host, name, number, bodies) {
      const list = listOf(server.repo(host, name), number);
      for (const body of bodies) list.push({ id: nextCommentId++, body, user: { login: 'someone', type: 'User' }, created_at: nowIso(), updated_at: nowIso() });
    },
    filesAt(host, name, ref) {
      const r = server.repo(host, name);
      const sha = r.branches.get(ref) ?? ref;
      return r.commits.get(sha)?.files;
    },
    inject(answer, count = 1) {
      injections.push({ answer, left: count });
    },
    clearInjections() {
      injections.length = 0;
    },
    close: () => new Promise((resolve) => http.close(() => resolve())),
  };

  function listOf(repo: HostedRepo, number: number): GitHubComment[] {
    let list = repo.comments.get(number);
    if (!list) repo.comments.set(number, (list = []));
    return list;
  }

  // Request log, latency and injected answers come before everything else, as a real outage would.
  app.use(async (req: Request, res: Response, next: NextFunction) => {
    const at = Date.now();
    const path = req.path; // captured now: a mounted router rewrites req.url while it runs
    res.on('finish', () => server.requests.push({ method: req.method, path, status: res.statusCode, at, scope: scopeOf(req) }));
    if (server.latencyMs > 0) await new Promise((r) => setTimeout(r, server.latencyMs));
    const line = `${req.method} ${path}`;
    const hit = injections.find((i) => i.left > 0 && (!i.answer.match || i.answer.match.test(line)));
    if (hit) {
      hit.left--;
      for (const [k, v] of Object.entries(hit.answer.headers ?? {})) res.setHeader(k, v);
      return void res.status(hit.answer.status).json(hit.answer.body ?? { message: `injected ${hit.answer.status}` });
    }
    next();
  });
  app.use(express.json({ limit: '2mb' }));

  function tokenOf(req: Request): string | undefined {
    const auth = req.headers.authorization;
    if (typeof auth === 'string') {
      const m = /^(?:Bearer|token)\s+(\S+)$/i.exec(auth);
      if (m) return m[1];
    }
    for (const h of ['private-token', 'job-token']) {
      const v = req.headers[h];
      if (typeof v === 'string') return v;
    }
    return undefined;
  }
  function scopeOf(req: Request): SeenRequest['scope'] {
    const t = tokenOf(req);
    return t === undefined ? 'none' : (tokens.get(t) ?? 'unknown');
  }

  // GitHub: 401 "Requires authentication" / "Bad credentials"; a token without the permission gets
  // 403 "Resource not accessible by integration" (the Actions GITHUB_TOKEN answer).
  // GitLab: 401 "401 Unauthorized"; 403 "403 Forbidden" for a write the token may not make.
  const auth = (host: 'github' | 'gitlab', write: boolean) => (req: Request, res: Response, next: NextFunction) => {
    const scope = scopeOf(req);
    if (scope === 'none') return void res.status(401).json({ message: host === 'github' ? 'Requires authentication' : '401 Unauthorized' });
    if (scope === 'unknown') return void res.status(401).json({ message: host === 'github' ? 'Bad credentials' : '401 Unauthorized' });
    if (write && scope === 'read') return void res.status(403).json({ message: host === 'github' ? 'Resource not accessible by integration' : '403 Forbidden' });
    next();
  };

  function paginate<T>(req: Request, res: Response, items: T[], pagePath: string): void {
    const perPage = Math.min(server.maxPerPage, Math.max(1, Number(req.query.per_page ?? 30) || 30));
    const page = Math.max(1, Number(req.query.page ?? 1) || 1);
    const pages = Math.max(1, Math.ceil(items.length / perPage));
    const link = (p: number, rel: string) => `<${url}${pagePath}?per_page=${perPage}&page=${p}>; rel="${rel}"`;
    const links: string[] = [];
    if (page < pages) links.push(link(page + 1, 'next'), link(pages, 'last'));
    if (page > 1) links.push(link(1, 'first'), link(page - 1, 'prev'));
    if (links.length) res.setHeader('Link', links.join(', '));
    res.setHeader('X-Page', String(page));
    res.setHeader('X-Per-Page', String(perPage));
    res.setHeader('X-Total', String(items.length));
    res.setHeader('X-Total-Pages', String(pages));
    res.setHeader('X-Next-Page', page < pages ? String(page + 1) : '');
    res.json(items.slice((page - 1) * perPage, page * perPage));
  }

  // ---------------------------------------------------------------- GitHub (/api/v3)
  const gh = express.Router();
  const ghRepo = (req: Request, res: Response): HostedRepo | undefined => {
    const r = req.params.id !== undefined ? byId.github.get(Number(req.params.id)) : repos.github.get(`${req.params.owner}/${req.params.name}`);
    if (!r) res.status(404).json({ message: 'Not Found', documentation_url: 'https://docs.github.com/rest' });
    return r;
  };
  gh.get('/user', auth('github', false), (_req, res) => void res.status(403).json({ message: 'Resource not accessible by integration' }));
  const listComments = (req: Request, res: Response) => {
    const r = ghRepo(req, res);
    if (!r) return;
    // Next-page links use the /repositories/<id>/ form, as GitHub sometimes answers: clients follow them as given.
    paginate(req, res, listOf(r, Number(req.params.n)), `/api/v3/repositories/${r.id}/issues/${req.params.n}/comments`);
  };
  gh.get('/repos/:owner/:name/issues/:n/comments', auth('github', false), listComments);
  gh.get('/repositories/:id/issues/:n/comments', auth('github', false), listComments);
  gh.post('/repos/:owner/:name/issues/:n/comments', auth('github', true), (req, res) => {
    const r = ghRepo(req, res);
    if (!r) return;
    const body = req.body?.body;
    if (typeof body !== 'string' || !body) return void res.status(422).json({ message: 'Validation Failed', errors: [{ resource: 'IssueComment', code: 'missing_field', field: 'body' }] });
    if (body.length > 65_536) return void res.status(422).json({ message: 'Validation Failed', errors: [{ resource: 'IssueComment', code: 'custom', field: 'body', message: 'body is too long (maximum is 65536 characters)' }] });
    const c: GitHubComment = { id: nextCommentId++, body, user: { login: 'github-actions[bot]', type: 'Bot' }, created_at: nowIso(), updated_at: nowIso() };
    listOf(r, Number(req.params.n)).push(c);
    res.status(201).json(c);
  });
  gh.patch('/repos/:owner/:name/issues/comments/:commentId', auth('github', true), (req, res) => {
    const r = ghRepo(req, res);
    if (!r) return;
    const body = req.body?.body;
    if (typeof body !== 'string' || !body) return void res.status(422).json({ message: 'Validation Failed' });
    if (body.length > 65_536) return void res.status(422).json({ message: 'Validation Failed', errors: [{ resource: 'IssueComment', code: 'custom', field: 'body', message: 'body is too long (maximum is 65536 characters)' }] });
    for (const list of r.comments.values()) {
      const c = list.find((x) => x.id === Number(req.params.commentId));
      if (c) {
        c.body = body;
        c.updated_at = nowIso();
        return void res.json(c);
      }
    }
    res.status(404).json({ message: 'Not Found' });
  });
  gh.post('/repos/:owner/:name/statuses/:sha', auth('github', true), (req, res) => {
    const r = ghRepo(req, res);
    if (!r) return;
    const { state, context = 'default', description = '', target_url = null } = req.body ?? {};
    if (!['error', 'failure', 'pending', 'success'].includes(state)) return void res.status(422).json({ message: 'Validation Failed', errors: [{ resource: 'Status', code: 'custom', field: 'state', message: `state is not included in the list` }] });
    if (typeof description === 'string' && description.length > 140) return void res.status(422).json({ message: 'Validation Failed', errors: [{ resource: 'Status', code: 'custom', field: 'description', message: 'description is too long (maximum is 140 characters)' }] });
    const s: StoredStatus = { sha: req.params.sha as string, state, context, description, target_url, at: Date.now() };
    r.statuses.push(s);
    res.status(201).json({ id: r.statuses.length, state, context, description, target_url, created_at: nowIso() });
  });
  gh.get('/repos/:owner/:name/commits/:ref/statuses', auth('github', false), (req, res) => {
    const r = ghRepo(req, res);
    if (r) paginate(req, res, r.statuses.filter((s) => s.sha === req.params.ref).reverse(), `/api/v3/repositories/${r.id}/commits/${req.params.ref}/statuses`);
  });
  gh.get('/repos/:owner/:name/git/ref/heads/*branch', auth('github', false), (req, res) => {
    const r = ghRepo(req, res);
    if (!r) return;
    const branch = ([] as string[]).concat(req.params.branch as unknown as string[]).join('/');
    const sha = r.branches.get(branch);
    if (!sha) return void res.status(404).json({ message: 'Not Found' });
    res.json({ ref: `refs/heads/${branch}`, object: { sha, type: 'commit' } });
  });
  gh.post('/repos/:owner/:name/git/refs', auth('github', true), (req, res) => {
    const r = ghRepo(req, res);
    if (!r) return;
    const { ref, sha } = req.body ?? {};
    if (typeof ref !== 'string' || !ref.startsWith('refs/heads/') || ref.split('/').length < 3) return void res.status(422).json({ message: 'Reference name must start with \'refs/\' and have at least two slashes.' });
    if (!r.commits.has(sha)) return void res.status(422).json({ message: 'Object does not exist' });
    const branch = ref.slice('refs/heads/'.length);
    if (r.branches.has(branch)) return void res.status(422).json({ message: 'Reference already exists' });
    r.branches.set(branch, sha);
    res.status(201).json({ ref, object: { sha, type: 'commit' } });
  });
  gh.get('/repos/:owner/:name/contents/*path', auth('github', false), (req, res) => {
    const r = ghRepo(req, res);
    if (!r) return;
    const path = ([] as string[]).concat(req.params.path as unknown as string[]).join('/');
    const ref = typeof req.query.ref === 'string' ? req.query.ref : 'main';
    const content = r.commits.get(r.branches.get(ref) ?? ref)?.files.get(path);
    if (content === undefined) return void res.status(404).json({ message: 'Not Found' });
    res.json({ type: 'file', encoding: 'base64', path, sha: sha1(`blob ${content}`), content: Buffer.from(content).toString('base64') });
  });
  gh.put('/repos/:owner/:name/contents/*path', auth('github', true), (req, res) => {
    const r = ghRepo(req, res);
    if (!r) return;
    const path = ([] as string[]).concat(req.params.path as unknown as string[]).join('/');
    const { message, content, branch = 'main', sha } = req.body ?? {};
    if (typeof message !== 'string' || typeof content !== 'string') return void res.status(422).json({ message: 'Invalid request.\n\n"message" and "content" are required.' });
    const head = r.branches.get(branch);
    if (!head) return void res.status(404).json({ message: `Branch ${branch} not found` });
    const parent = r.commits.get(head)!;
    const existing = parent.files.get(path);
    if (existing !== undefined && sha === undefined) return void res.status(422).json({ message: 'Invalid request.\n\n"sha" wasn\'t supplied.' });
    if (existing !== undefined && sha !== sha1(`blob ${existing}`)) return void res.status(409).json({ message: `${path} does not match ${sha}` });
    const text = Buffer.from(content, 'base64').toString('utf8');
    const commit: Commit = { sha: sha1(`${head}:${path}:${text}:${Math.random()}`), parent: head, message, files: new Map(parent.files).set(path, text) };
    r.commits.set(commit.sha, commit);
    r.branches.set(branch, commit.sha);
    res.status(existing === undefined ? 201 : 200).json({ content: { path, sha: sha1(`blob ${text}`) }, commit: { sha: commit.sha, message } });
  });
  // List pulls (GET /repos/{owner}/{repo}/pulls): `state` (open by default; every stored PR is open) and
  // `head` as `user:ref-name`, as the docs define them. Used to find a fix's PR by its branch.
  gh.get('/repos/:owner/:name/pulls', auth('github', false), (req, res) => {
    const r = ghRepo(req, res);
    if (!r) return;
    const state = String(req.query.state ?? 'open');
    const head = typeof req.query.head === 'string' ? req.query.head : undefined;
    const owner = r.name.split('/')[0];
    const list = state === 'closed' ? [] : r.changeRequests.filter((c) => !head || head === `${owner}:${c.head}`);
    paginate(req, res, list.map((c) => ({ number: c.number, state: 'open', html_url: `${url}/${r.name}/pull/${c.number}`, head: { ref: c.head, label: `${owner}:${c.head}` }, base: { ref: c.base }, title: c.title, body: c.body })), `/api/v3/repos/${r.name}/pulls`);
  });
  gh.post('/repos/:owner/:name/pulls', auth('github', true), (req, res) => {
    const r = ghRepo(req, res);
    if (!r) return;
    const { title, head, base, body = '' } = req.body ?? {};
    if (typeof title !== 'string' || !r.branches.has(head) || !r.branches.has(base)) return void res.status(422).json({ message: 'Validation Failed', errors: [{ resource: 'PullRequest', code: 'invalid', field: 'head' }] });
    if (r.branches.get(head) === r.branches.get(base)) return void res.status(422).json({ message: 'Validation Failed', errors: [{ resource: 'PullRequest', code: 'custom', message: `No commits between ${base} and ${head}` }] });
    if (r.changeRequests.some((c) => c.head === head && c.base === base)) return void res.status(422).json({ message: 'Validation Failed', errors: [{ resource: 'PullRequest', code: 'custom', message: `A pull request already exists for ${head}.` }] });
    const number = 100 + r.changeRequests.length + 1;
    r.changeRequests.push({ number, head, base, title, body });
    res.status(201).json({ number, html_url: `${url}/${r.name}/pull/${number}`, head: { ref: head }, base: { ref: base }, title, body });
  });

  // ---------------------------------------------------------------- GitLab (/api/v4)
  const gl = express.Router();
  const glRepo = (req: Request, res: Response): HostedRepo | undefined => {
    const id = String(req.params.id);
    const r = /^\d+$/.test(id) ? byId.gitlab.get(Number(id)) : repos.gitlab.get(id);
    if (!r) res.status(404).json({ message: '404 Project Not Found' });
    return r;
  };
  // A project access token's user is a bot user named after the project.
  gl.get('/user', auth('gitlab', false), (req, res) => void (scopeOf(req) === 'write' ? res.json({ id: 77, username: 'project_1_bot', bot: true }) : res.status(403).json({ message: '403 Forbidden' })));
  gl.get('/projects/:id/merge_requests/:iid/notes', auth('gitlab', false), (req, res) => {
    const r = glRepo(req, res);
    if (!r) return;
    // Newest first unless sort=asc, as GitLab documents.
    const notes = [...listOf(r, Number(req.params.iid))].map((c) => ({ id: c.id, body: c.body, system: false, author: { username: c.user.login, bot: c.user.type === 'Bot' }, created_at: c.created_at, updated_at: c.updated_at }));
    if (req.query.sort !== 'asc') notes.reverse();
    paginate(req, res, notes, `/api/v4/projects/${r.id}/merge_requests/${req.params.iid}/notes`);
  });
  gl.post('/projects/:id/merge_requests/:iid/notes', auth('gitlab', true), (req, res) => {
    const r = glRepo(req, res);
    if (!r) return;
    const body = req.body?.body;
    if (typeof body !== 'string' || !body) return void res.status(400).json({ message: '400 Bad request - body is missing' });
    if (body.length > 1_000_000) return void res.status(400).json({ message: { note: ['is too long (maximum is 1000000 characters)'] } });
    const c: GitHubComment = { id: nextCommentId++, body, user: { login: 'project_1_bot', type: 'Bot' }, created_at: nowIso(), updated_at: nowIso() };
    listOf(r, Number(req.params.iid)).push(c);
    res.status(201).json({ id: c.id, body, system: false });
  });
  gl.put('/projects/:id/merge_requests/:iid/notes/:noteId', auth('gitlab', true), (req, res) => {
    const r = glRepo(req, res);
    if (!r) return;
    const body = req.body?.body;
    if (typeof body !== 'string' || !body) return void res.status(400).json({ message: '400 Bad request - body is missing' });
    if (body.length > 1_000_000) return void res.status(400).json({ message: { note: ['is too long (maximum is 1000000 characters)'] } });
    const c = listOf(r, Number(req.params.iid)).find((x) => x.id === Number(req.params.noteId));
    if (!c) return void res.status(404).json({ message: '404 Not found' });
    c.body = body;
    c.updated_at = nowIso();
    res.json({ id: c.id, body, system: false });
  });
  gl.post('/projects/:id/statuses/:sha', auth('gitlab', true), (req, res) => {
    const r = glRepo(req, res);
    if (!r) return;
    const q = { ...req.query, ...(req.body ?? {}) } as Record<string, string>;
    const { state, name = 'default', description = '', target_url = null } = q;
    if (!['pending', 'running', 'success', 'failed', 'canceled', 'skipped'].includes(state)) return void res.status(400).json({ error: 'state does not have a valid value' });
    if (description.length > 255) return void res.status(400).json({ message: { description: ['is too long (maximum is 255 characters)'] } });
    const last = [...r.statuses].reverse().find((s) => s.sha === req.params.sha && s.context === name);
    if (last && last.state === state) {
      return void res.status(400).json({ message: `Cannot transition status via :${state === 'success' ? 'succeed' : state === 'failed' ? 'drop' : 'enqueue'} from :${state} (Reasons(s): Status cannot transition via "${state}" from "${state}")` });
    }
    const s: StoredStatus = { sha: req.params.sha as string, state, context: name, description, target_url, at: Date.now() };
    r.statuses.push(s);
    res.status(201).json({ id: r.statuses.length, sha: s.sha, status: state, name, description, target_url, created_at: nowIso() });
  });
  gl.get('/projects/:id/repository/commits/:sha/statuses', auth('gitlab', false), (req, res) => {
    const r = glRepo(req, res);
    if (r) paginate(req, res, r.statuses.filter((s) => s.sha === req.params.sha).map((s) => ({ ...s, status: s.state, name: s.context })), `/api/v4/projects/${r.id}/repository/commits/${req.params.sha}/statuses`);
  });
  gl.get('/projects/:id/repository/branches/:branch', auth('gitlab', false), (req, res) => {
    const r = glRepo(req, res);
    if (!r) return;
    const sha = r.branches.get(String(req.params.branch));
    if (!sha) return void res.status(404).json({ message: '404 Branch Not Found' });
    res.json({ name: req.params.branch, commit: { id: sha } });
  });
  gl.post('/projects/:id/repository/branches', auth('gitlab', true), (req, res) => {
    const r = glRepo(req, res);
    if (!r) return;
    const q = { ...req.query, ...(req.body ?? {}) } as Record<string, string>;
    if (!q.branch || !q.ref) return void res.status(400).json({ error: 'branch is missing, ref is missing' });
    if (r.branches.has(q.branch)) return void res.status(400).json({ message: 'Branch already exists' });
    const sha = r.branches.get(q.ref) ?? (r.commits.has(q.ref) ? q.ref : undefined);
    if (!sha) return void res.status(400).json({ message: 'Invalid reference name' });
    r.branches.set(q.branch, sha);
    res.status(201).json({ name: q.branch, commit: { id: sha } });
  });
  gl.get('/projects/:id/repository/files/:path', auth('gitlab', false), (req, res) => {
    const r = glRepo(req, res);
    if (!r) return;
    const ref = String(req.query.ref ?? '');
    if (!ref) return void res.status(400).json({ error: 'ref is missing' });
    const sha = r.branches.get(ref) ?? ref;
    const content = r.commits.get(sha)?.files.get(String(req.params.path));
    if (content === undefined) return void res.status(404).json({ message: '404 File Not Found' });
    res.json({ file_path: req.params.path, encoding: 'base64', content: Buffer.from(content).toString('base64'), ref, blob_id: sha1(`blob ${content}`), last_commit_id: sha });
  });
  gl.post('/projects/:id/repository/commits', auth('gitlab', true), (req, res) => {
    const r = glRepo(req, res);
    if (!r) return;
    const { branch, commit_message, actions } = req.body ?? {};
    const head = r.branches.get(branch);
    if (!head) return void res.status(400).json({ message: `You can only create or edit files when you are on a branch` });
    if (typeof commit_message !== 'string' || !Array.isArray(actions)) return void res.status(400).json({ error: 'commit_message is missing, actions is missing' });
    const files = new Map(r.commits.get(head)!.files);
    for (const a of actions as { action: string; file_path: string; content?: string; encoding?: string }[]) {
      const exists = files.has(a.file_path);
      if (a.action === 'create' && exists) return void res.status(400).json({ message: 'A file with this name already exists' });
      if (a.action === 'update' && !exists) return void res.status(400).json({ message: 'A file with this name doesn\'t exist' });
      if (a.action === 'delete') files.delete(a.file_path);
      else files.set(a.file_path, a.encoding === 'base64' ? Buffer.from(a.content ?? '', 'base64').toString('utf8') : (a.content ?? ''));
    }
    const commit: Commit = { sha: sha1(`${head}:${commit_message}:${Math.random()}`), parent: head, message: commit_message, files };
    r.commits.set(commit.sha, commit);
    r.branches.set(branch, commit.sha);
    res.status(201).json({ id: commit.sha, short_id: commit.sha.slice(0, 8), message: commit_message });
  });
  // List a project's merge requests: `state` (opened, closed, merged, all; every stored MR is opened) and
  // `source_branch`, as the docs define them. Used to find a fix's MR by its branch.
  gl.get('/projects/:id/merge_requests', auth('gitlab', false), (req, res) => {
    const r = glRepo(req, res);
    if (!r) return;
    const state = String(req.query.state ?? 'all');
    const source = typeof req.query.source_branch === 'string' ? req.query.source_branch : undefined;
    const list = state === 'opened' || state === 'all' ? r.changeRequests.filter((c) => !source || c.head === source) : [];
    paginate(req, res, list.map((c) => ({ iid: c.number, state: 'opened', web_url: `${url}/${r.name}/-/merge_requests/${c.number}`, source_branch: c.head, target_branch: c.base, title: c.title, description: c.body })), `/api/v4/projects/${r.id}/merge_requests`);
  });
  gl.post('/projects/:id/merge_requests', auth('gitlab', true), (req, res) => {
    const r = glRepo(req, res);
    if (!r) return;
    const { source_branch, target_branch, title, description = '' } = req.body ?? {};
    if (typeof title !== 'string' || !r.branches.has(source_branch) || !r.branches.has(target_branch)) return void res.status(400).json({ message: 'Invalid source or target branch' });
    if (r.changeRequests.some((c) => c.head === source_branch && c.base === target_branch)) return void res.status(409).json({ message: [`Another open merge request already exists for this source branch`] });
    const number = r.changeRequests.length + 1;
    r.changeRequests.push({ number, head: source_branch, base: target_branch, title, body: description });
    res.status(201).json({ iid: number, web_url: `${url}/${r.name}/-/merge_requests/${number}`, source_branch, target_branch, title, description });
  });

  app.use('/api/v3', gh);
  app.use('/api/v4', gl);
  app.use((_req, res) => void res.status(404).json({ message: 'Not Found' }));

  const http: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  server.url = url;
  server.githubApi = `${url}/api/v3`;
  server.gitlabApi = `${url}/api/v4`;
  return server;
}
