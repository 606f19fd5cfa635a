// The whole fix flow for one flag, shared by `promshard fix` and anything else that opens fix PRs:
// check out the base branch, merge the fix into the team file, prove it with the compiler, then either
// hand back the diff or push the branch and open the PR/MR (finding an open one first). Throws
// FixRefused (with the reason) when the fix cannot be made; other errors are failures.
// It lives with the command in ci/ (not core/) because it proves the fix with the CI rules and reports
// findings as validate prints them; the pure parts (flag keys, the team-file edit, PR text) are in
// core/cardinality-fix/.
import { relative } from 'node:path';
import type { CardinalityFlag } from '../../core/protocol/cardinality-flag.ts';
import type { GitHost } from '../../core/githost/git-host.ts';
import { findOpenChangeRequest } from '../../core/githost/pull-requests.ts';
import { configFolderIn } from '../repository-location.ts';
import { FixRefused } from '../../core/cardinality-fix/edit-team-file.ts';
import { prepareFix, type PreparedFix } from './prepare-fix.ts';
import { fixBranch } from '../../core/cardinality-fix/flag-key.ts';
import { fixBody, fixCommitMessage, fixTitle } from '../../core/cardinality-fix/pr-text.ts';
import { checkoutBase, commitAndPush, diffOf, remoteBranchHas, remoteBranchHead } from './fix-branch.ts';

export interface FixRequest {
  flag: CardinalityFlag;
  /** `--repo`: a work tree, a bare repository or a URL. */
  repo: string;
  base: string;
  /** Without a host, nothing is pushed: the result is the diff. */
  host?: GitHost;
  mentions?: readonly string[];
  dashboardUrl?: string;
}

interface Common {
  prepared: PreparedFix;
  /** The team file's path in the git repository. */
  gitPath: string;
  branch: string;
  baseSha: string;
}

export type FixResult = (Common & { kind: 'diff'; diff: string }) | (Common & { kind: 'already-open' | 'opened'; url: string; number: number; reusedBranch: boolean });

export async function openFixPullRequest(req: FixRequest): Promise<FixResult> {
  const { flag, base, host } = req;
  const co = checkoutBase(req.repo, base);
  try {
    const configDir = configFolderIn(co.dir);
    if (!configDir) throw new FixRefused(`branch ${base} of ${co.remote} has no shards.yaml at its root nor in scrape-configs/`);
    const prepared = prepareFix(configDir, flag, `${base} (${co.baseSha.slice(0, 12)})`);
    const gitPath = [relative(co.dir, configDir).split('\\').join('/'), flag.file].filter(Boolean).join('/');
    const common: Common = { prepared, gitPath, branch: fixBranch(flag.id), baseSha: co.baseSha };
    if (!host) return { ...common, kind: 'diff', diff: diffOf(co, gitPath) };

    const open = await findOpenChangeRequest(host, common.branch);
    if (open) return { ...common, kind: 'already-open', url: open.url, number: open.number, reusedBranch: true };
    const reusedBranch = remoteBranchHead(co, common.branch) !== undefined;
    if (reusedBranch) {
      // An earlier run pushed and then could not open the PR: reuse its branch if it holds this very fix.
      if (!remoteBranchHas(co, common.branch, gitPath, prepared.after))
        throw new FixRefused(`branch ${common.branch} already exists on the remote with a different ${gitPath} (an older fix, or edited by hand) and no open PR/MR uses it; delete the branch or open a PR from it`);
    } else {
      commitAndPush(co, common.branch, gitPath, fixCommitMessage(flag, prepared.edit));
    }
    const opened = await host.openChangeRequest({
      head: common.branch,
      base,
      title: fixTitle(flag),
      body: fixBody({ flag, edit: prepared.edit, gitPath, mentions: req.mentions, dashboardUrl: req.dashboardUrl }),
    });
    return { ...common, kind: 'opened', url: opened.url, number: opened.number, reusedBranch };
  } finally {
    co.remove();
  }
}
