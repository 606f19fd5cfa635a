// credential-path: every credential and TLS file a job names (any `*_file` key: basic_auth.password_file,
// authorization.credentials_file, tls.ca_file/cert_file/key_file, and whatever `*_file` key the format
// gains later) must lie under the owning team's secrets directory, `<secrets_root>/<team>/`.
// Prometheus reads the file and sends its content to the job's targets, so a path into another team's
// directory hands that team's password or client key to a target the first team chose.
// The owning team is the folder under teams/ (what CODEOWNERS protects), not the file's `team:` value,
// which team-folder-mismatch checks separately. Keys are found by walking the job rather than from a
// fixed list, so a key added to the schema is confined without anyone remembering this rule.
import type { Rule, RuleContext } from '../../core/compiler/rule.ts';
import type { PathSegment } from '../../core/repository/parse-yaml-file.ts';
import { checkTeamFilePath, isTeamSegment, secretsRootOf, type PathCheck } from '../../core/compiler/secret-paths.ts';
import { forEachJob, isRecord } from './walk.ts';
import { quote } from './format.ts';

/** Keys whose own keys are label or parameter names, not configuration keys. */
const NAME_MAPS = new Set(['labels', 'params']);
const MAX_PATH_QUOTED = 200;

/** Every string under a `*_file` key in a job, with its path inside the job. */
export function credentialFileValues(job: unknown): { keyPath: PathSegment[]; value: string }[] {
  const out: { keyPath: PathSegment[]; value: string }[] = [];
  const visit = (node: unknown, path: PathSegment[]) => {
    // Far deeper than any key the schema allows under a job; anything there is refused by unknown-key and never rendered.
    if (path.length > 64) return;
    if (Array.isArray(node)) {
      node.forEach((v, i) => visit(v, [...path, i]));
      return;
    }
    if (!isRecord(node)) return;
    for (const k in node) {
      const v = node[k];
      if (k.endsWith('_file') && typeof v === 'string') out.push({ keyPath: [...path, k], value: v });
      else if (!NAME_MAPS.has(k) && typeof v === 'object' && v !== null) visit(v, [...path, k]);
    }
  };
  visit(job, []);
  return out;
}

function keyName(keyPath: PathSegment[]): string {
  return keyPath.map((s, i) => (typeof s === 'number' ? `[${s}]` : i === 0 ? s : `.${s}`)).join('');
}

function explain(check: PathCheck & { ok: false }, value: string, team: string): string {
  switch (check.reason) {
    case 'relative':
      return 'is a relative path, which Prometheus resolves against its own configuration directory, not the team secrets directory';
    case 'dot-dot':
      return 'contains a ".." segment, which can leave the directory through a symbolic link even where the text seems to stay inside';
    case 'team-dir':
    case 'root':
      return `names a directory, not a file inside team ${team}'s secrets directory`;
    case 'outside': {
      const shown = check.normalised !== undefined && check.normalised !== value ? ` (${quote(check.normalised, MAX_PATH_QUOTED)} once normalised)` : '';
      return `is outside team ${team}'s secrets directory${shown}`;
    }
  }
}

function hintFor(check: PathCheck & { ok: false }, team: string, allowed: string): string {
  if (check.reason === 'relative') return `write the absolute path of the file under ${allowed}`;
  if (check.reason === 'dot-dot') return `write the path without ".." segments, as a file under ${allowed}`;
  return `have the secrets pipeline install the file under ${allowed} and reference it there; a secret another team uses must be issued to team ${team} separately`;
}

function checkRoot(ctx: RuleContext): string | undefined {
  const file = ctx.repo.shardsFile;
  const value = isRecord(file?.data) ? file.data.secrets_root : undefined;
  if (value !== undefined && typeof value !== 'string') return undefined; // the schema rule reports the type
  const root = secretsRootOf(value);
  if (root.ok) return root.normalised;
  if (file) {
    const why = root.reason === 'root' ? 'must not be / itself: every path on the host would be some team\'s directory' : root.reason === 'relative' ? 'must be an absolute path' : 'must not contain ".." segments';
    ctx.report({ file: file.path, path: ['secrets_root'], message: `secrets_root ${quote(value, MAX_PATH_QUOTED)} ${why}`, hint: 'write the absolute directory, e.g. secrets_root: /etc/prometheus/secrets' });
  }
  return undefined;
}

export const credentialPath: Rule = {
  id: 'credential-path',
  severity: 'error',
  summary: "A credential or TLS file (any *_file key) outside the owning team's secrets directory <secrets_root>/<team>/.",
  scope: 'file',
  check(ctx) {
    const root = checkRoot(ctx);
    if (root === undefined) return;
    forEachJob(ctx.repo, ({ file, job, path }) => {
      const team = file.teamFolder;
      if (team === undefined) return;
      const teamDir = `${root}/${team}`;
      const allowed = `${teamDir}/`;
      const jobName = typeof job.name === 'string' ? `job ${quote(job.name)}: ` : '';
      for (const { keyPath, value } of credentialFileValues(job)) {
        const check: PathCheck = isTeamSegment(team) ? checkTeamFilePath(value, teamDir) : { ok: false, reason: 'outside' };
        if (check.ok) continue;
        ctx.report({
          file: file.path,
          path: [...path, ...keyPath],
          message: `${jobName}${keyName(keyPath)} ${quote(value, MAX_PATH_QUOTED)} ${explain(check, value, team)}; team ${team}'s credential and TLS files must lie under ${allowed}`,
          hint: hintFor(check, team, allowed),
        });
      }
    });
  },
};
