// remote-write: shards.yaml's remote_write endpoints (fleet-level and per shard) as Prometheus 2.42
// would take them, and without secrets in the repository:
//   - url: http:// or https:// with a host, and no user:password (that would put a credential in git
//     and on every status page that shows the config);
//   - remote_timeout and the queue_config durations valid; min_backoff ≤ max_backoff, min_shards ≤ max_shards;
//   - headers: none Prometheus reserves (it refuses the file) and none that carries a credential
//     (Authorization, Cookie, *token*, *key*, *secret*…): credentials come only from files;
//   - every *_file (basic_auth.password_file, authorization.credentials_file, tls_config.*_file) under
//     the observability team's secrets directory, <secrets_root>/<observability_team>/ — the fleet's
//     samples go to one store, so its credential belongs to the team that owns shards.yaml, not to any
//     team whose files a CODEOWNERS rule lets it edit;
//   - names unique within what one shard sends to;
//   - a shard that remote-writes gets the identity labels promshard_shard, promshard_split and replica
//     (core/render/remote-write.ts), so its own external_labels may not set them, and their values may
//     not hold `$`, which Prometheus's expand-external-labels would replace with an environment variable.
// write_relabel_configs are checked by relabel-config and relabel-regex like a job's rules.
import type { Rule, ReportInput } from '../../core/compiler/rule.ts';
import type { PathSegment } from '../../core/repository/parse-yaml-file.ts';
import { checkTeamFilePath, secretsRootOf, type PathCheck } from '../../core/compiler/secret-paths.ts';
import { BUILTIN_DEFAULTS } from '../../core/compiler/effective-settings.ts';
import { IDENTITY_LABELS } from '../../core/render/remote-write.ts';
import { credentialFileValues } from './credential-path.ts';
import { durationProblem } from './duration.ts';
import { parseDurationMs } from '../../core/time/duration.ts';
import { forEachRemoteWrite, isRecord, type RecordLike } from './walk.ts';
import { quote } from './format.ts';

/** Headers Prometheus 2.42 refuses in remote_write (config.reservedHeaders), lower-cased. */
const RESERVED_HEADERS = new Set([
  'authorization', 'host', 'content-encoding', 'content-length', 'content-type', 'user-agent', 'connection', 'keep-alive',
  'proxy-authenticate', 'proxy-authorization', 'www-authenticate', 'accept-encoding', 'x-prometheus-remote-write-version',
  'x-prometheus-remote-read-version', 'x-prometheus-scrape-timeout-seconds', 'x-amz-date', 'x-amz-security-token', 'x-amz-content-sha256',
]);
/** Header names that carry a credential by convention: their value would be a secret written into git. */
const CREDENTIAL_HEADER = /(^cookie$|token|secret|password|passwd|api[-_]?key|^x-[a-z-]*key$|signature|session|credential|auth)/i;
const DURATION_KEYS = ['batch_send_deadline', 'min_backoff', 'max_backoff'] as const;

function describeEntry(entry: RecordLike, shard: string | undefined, index: number): string {
  const name = typeof entry.name === 'string' ? ` ${quote(entry.name)}` : ` #${index + 1}`;
  return `${shard === undefined ? 'fleet' : `shard ${quote(shard)}`} remote_write${name}`;
}

function pathProblem(check: PathCheck & { ok: false }, value: string): string {
  switch (check.reason) {
    case 'relative':
      return 'is a relative path';
    case 'dot-dot':
      return 'contains a ".." segment, which can leave the directory through a symbolic link';
    case 'team-dir':
    case 'root':
      return 'names that directory, not a file inside it';
    case 'outside':
      return check.normalised !== undefined && check.normalised !== value ? `is outside it (${quote(check.normalised, 200)} once normalised)` : 'is outside it';
  }
}

export const remoteWrite: Rule = {
  id: 'remote-write',
  severity: 'error',
  summary: "A remote_write endpoint Prometheus would refuse or that leaks a secret: a non-http(s) URL or one with user:password, a bad duration, a reserved or credential header, a credential file outside <secrets_root>/<observability_team>/, or identity labels set by hand.",
  scope: 'file',
  check(ctx) {
    const file = ctx.repo.shardsFile;
    if (!file || !isRecord(file.data)) return;
    const data = file.data;
    const report = (r: Omit<ReportInput, 'file'>) => ctx.report({ file: file.path, ...r });
    const rootValue = data.secrets_root;
    const teamValue = data.observability_team;
    const root = typeof rootValue === 'string' || rootValue === undefined ? secretsRootOf(rootValue) : undefined;
    const team = typeof teamValue === 'string' ? teamValue : BUILTIN_DEFAULTS.observability_team;
    // credential-path reports a bad secrets_root; the schema a bad team name.
    const dir = root?.ok ? `${root.normalised}/${team}` : undefined;
    const dirShown = dir ?? '<secrets_root>/<observability_team>';

    const namesByList = new Map<string, Map<string, PathSegment[]>>();
    forEachRemoteWrite(data, ({ entry, path, shard }) => {
      const index = path[path.length - 1] as number;
      const what = describeEntry(entry, shard, index);

      if (typeof entry.url === 'string') {
        let url: URL | undefined;
        try {
          url = new URL(entry.url);
        } catch {
          report({ path: [...path, 'url'], message: `${what}: url ${quote(entry.url)} is not an absolute URL`, hint: 'write the receiver\'s write endpoint, e.g. https://mimir.example.org/api/v1/push' });
        }
        if (url && url.protocol !== 'http:' && url.protocol !== 'https:') {
          report({ path: [...path, 'url'], message: `${what}: url scheme ${quote(url.protocol.slice(0, -1))} is not http or https`, hint: 'Prometheus remote-writes over HTTP: use an https:// URL' });
        } else if (url && (url.username !== '' || url.password !== '')) {
          // The URL itself is not quoted: it holds the credential this finding is about.
          report({ path: [...path, 'url'], message: `${what}: url carries user:password credentials, which would be stored in git and shown by Prometheus's /api/v1/status/config`, hint: `remove them from the URL and use basic_auth with password_file under ${dirShown}/` });
        } else if (url && url.hostname === '') {
          report({ path: [...path, 'url'], message: `${what}: url ${quote(entry.url)} has no host`, hint: 'write the receiver\'s host, e.g. https://mimir.example.org/api/v1/push' });
        }
      }

      const durations: [PathSegment[], unknown][] = [[[...path, 'remote_timeout'], entry.remote_timeout]];
      const queue = isRecord(entry.queue_config) ? entry.queue_config : undefined;
      if (queue) for (const k of DURATION_KEYS) durations.push([[...path, 'queue_config', k], queue[k]]);
      for (const [p, v] of durations) {
        if (typeof v !== 'string') continue;
        const problem = durationProblem(v);
        if (problem) report({ path: p, message: `${what}: ${String(p[p.length - 1])}: ${problem.message}`, hint: problem.hint });
      }
      if (queue) {
        const minB = typeof queue.min_backoff === 'string' ? parseDurationMs(queue.min_backoff) : undefined;
        const maxB = typeof queue.max_backoff === 'string' ? parseDurationMs(queue.max_backoff) : undefined;
        if (minB !== undefined && maxB !== undefined && minB > maxB) {
          report({ path: [...path, 'queue_config', 'min_backoff'], message: `${what}: min_backoff ${quote(queue.min_backoff)} is longer than max_backoff ${quote(queue.max_backoff)}`, hint: 'make min_backoff the shorter delay' });
        }
        if (typeof queue.min_shards === 'number' && typeof queue.max_shards === 'number' && queue.min_shards > queue.max_shards) {
          report({ path: [...path, 'queue_config', 'min_shards'], message: `${what}: min_shards ${queue.min_shards} is above max_shards ${queue.max_shards}`, hint: 'min_shards must not exceed max_shards' });
        }
      }

      if (isRecord(entry.headers)) {
        for (const name of Object.keys(entry.headers)) {
          if (RESERVED_HEADERS.has(name.toLowerCase())) {
            report({ path: [...path, 'headers', name], onKey: true, message: `${what}: header ${quote(name)} is reserved: Prometheus refuses to load a remote_write that sets it`, hint: name.toLowerCase().includes('auth') ? `use authorization with credentials_file under ${dirShown}/` : 'remove it; Prometheus sets it itself' });
          } else if (CREDENTIAL_HEADER.test(name)) {
            report({ path: [...path, 'headers', name], onKey: true, message: `${what}: header ${quote(name)} looks like a credential, and its value would be stored in git`, hint: `send credentials with authorization.credentials_file or basic_auth.password_file under ${dirShown}/` });
          }
        }
      }

      if (dir !== undefined) {
        for (const { keyPath, value } of credentialFileValues(entry)) {
          const check = checkTeamFilePath(value, dir);
          if (check.ok) continue;
          const key = keyPath.join('.');
          report({
            path: [...path, ...keyPath],
            message: `${what}: credential and TLS files must lie under the observability team's secrets directory ${dir}/, and ${key} ${quote(value, 200)} ${pathProblem(check, value)}`,
            hint: `have the secrets pipeline install the file under ${dir}/ (observability_team: ${team})`,
          });
        }
      }

      const listKey = shard ?? '';
      let names = namesByList.get(listKey);
      if (!names) namesByList.set(listKey, (names = new Map()));
      if (typeof entry.name === 'string') {
        const first = names.get(entry.name);
        if (first) report({ path: [...path, 'name'], message: `${what}: name ${quote(entry.name)} is used twice in the same remote_write list`, hint: 'give each endpoint its own name: it is the remote_name label of the queue\'s metrics', related: [{ file: file.path, path: first, message: 'first used here' }] });
        else names.set(entry.name, [...path, 'name']);
      }
    });

    // Identity labels on shards that remote-write (their own list, else the fleet's).
    const fleetWrites = Array.isArray(data.remote_write) && data.remote_write.length > 0;
    if (!Array.isArray(data.shards)) return;
    data.shards.forEach((s, i) => {
      if (!isRecord(s)) return;
      const writes = Array.isArray(s.remote_write) ? s.remote_write.length > 0 : fleetWrites;
      if (!writes || !isRecord(s.external_labels)) return;
      const shardName = typeof s.name === 'string' ? quote(s.name) : `#${i + 1}`;
      for (const [k, v] of Object.entries(s.external_labels)) {
        if (IDENTITY_LABELS.includes(k)) {
          report({ path: ['shards', i, 'external_labels', k], onKey: true, message: `shard ${shardName} remote-writes, so promshard sets external label ${quote(k)} itself (shard, split and replica identity for deduplication)`, hint: `remove ${k} from external_labels` });
        } else if (typeof v === 'string' && v.includes('$')) {
          report({ path: ['shards', i, 'external_labels', k], message: `shard ${shardName} remote-writes, so its Prometheus runs with expand-external-labels and would replace ${quote(v)}'s "$" reference with an environment variable`, hint: 'remove the "$" from the value' });
        }
      }
    });
  },
};
