// The controller's commit-status settings, from flags or from a file (YAML or JSON with the same
// names: host, repo, api, tokenFile, externalUrl). The token is read from a file, never a flag.
import { readFileSync } from 'node:fs';
import { load } from 'js-yaml';
import { readTokenFile } from '../../core/http/auth.ts';
import { createGitHost, DEFAULT_API_BASE, type GitHost, type GitHostKind } from '../../core/githost/index.ts';

export interface CommitStatusSettings {
  host: GitHostKind;
  repo: string;
  api?: string;
  tokenFile: string;
  externalUrl?: string;
}

export class CommitStatusConfigError extends Error {}

export function readCommitStatusFile(path: string): Partial<CommitStatusSettings> {
  let parsed: unknown;
  try {
    parsed = load(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new CommitStatusConfigError(`${path}: ${(err as Error).message}`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new CommitStatusConfigError(`${path}: expected a mapping with host, repo, tokenFile (and api, externalUrl)`);
  const known = ['host', 'repo', 'api', 'tokenFile', 'externalUrl'];
  for (const k of Object.keys(parsed)) if (!known.includes(k)) throw new CommitStatusConfigError(`${path}: unknown key ${JSON.stringify(k)} (known: ${known.join(', ')})`);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(parsed)) {
    if (typeof v !== 'string' && typeof v !== 'number') throw new CommitStatusConfigError(`${path}: ${k} must be a string`);
    out[k] = String(v);
  }
  return out as Partial<CommitStatusSettings>;
}

/** Flags win over the file; checks everything a first status would otherwise fail on. */
export function resolveCommitStatus(flags: Partial<CommitStatusSettings>, file: Partial<CommitStatusSettings> = {}): CommitStatusSettings {
  const s = { ...file, ...Object.fromEntries(Object.entries(flags).filter(([, v]) => v !== undefined)) } as Partial<CommitStatusSettings>;
  if (s.host !== 'github' && s.host !== 'gitlab') throw new CommitStatusConfigError(`commit status host must be github or gitlab, got ${JSON.stringify(s.host)}`);
  if (!s.repo) throw new CommitStatusConfigError(`commit status needs the repository (--commit-status-repo ${s.host === 'github' ? 'owner/name' : 'project id or group/project'})`);
  if (!s.tokenFile) throw new CommitStatusConfigError('commit status needs --commit-status-token-file (a token allowed to write statuses; GitLab\'s CI_JOB_TOKEN is not)');
  for (const [name, url] of [['api', s.api], ['externalUrl', s.externalUrl]] as const) {
    if (url !== undefined && !/^https?:\/\/[^\s/]+/.test(url)) throw new CommitStatusConfigError(`commit status ${name} ${JSON.stringify(url)} is not an http(s) URL`);
  }
  return s as CommitStatusSettings;
}

export function gitHostForStatuses(s: CommitStatusSettings): GitHost {
  // One attempt per send and short waits: the status queue retries with its own backoff, so that
  // nothing here holds a sender slot for long.
  let token: string;
  try {
    token = readTokenFile(s.tokenFile);
  } catch (err) {
    throw new CommitStatusConfigError(`--commit-status-token-file: ${(err as Error).message}`);
  }
  return createGitHost({ kind: s.host, repo: s.repo, apiBase: s.api ?? DEFAULT_API_BASE[s.host], token, timeoutMs: 5000, maxAttempts: 1, maxWaitMs: 0 });
}
