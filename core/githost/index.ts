// One entry point for the git host clients: pick GitHub or GitLab by kind.
import { GitHubHost } from './github.ts';
import { GitLabHost } from './gitlab.ts';
import type { GitHost, GitHostConfig } from './git-host.ts';

export * from './git-host.ts';
export { GitHostError, GitHostHttp, nextLink, rateLimitWaitMs } from './http-client.ts';
export { GitHubHost } from './github.ts';
export { GitLabHost } from './gitlab.ts';

export const DEFAULT_API_BASE = { github: 'https://api.github.com', gitlab: 'https://gitlab.com/api/v4' } as const;

export function createGitHost(config: GitHostConfig): GitHost {
  const { kind, repo, ...rest } = config;
  if (kind === 'github') return new GitHubHost(repo, rest);
  if (kind === 'gitlab') return new GitLabHost(repo, rest);
  throw new Error(`unknown git host ${JSON.stringify(kind)} (github or gitlab)`);
}
