// `promshard controller ...`: parses flags, reads secrets from files, runs until SIGINT/SIGTERM.
import { UsageError, parseFlags } from '../cli/args.ts';
import { readTokenFile } from '../core/http/auth.ts';
import { requireDurationMs } from '../core/time/duration.ts';
import { startController } from './start-controller.ts';
import { resolveControllerRepository } from '../ci/repository-location.ts';
import { hostname } from 'node:os';
import { DEFAULT_LEASE_NAME, kubernetesLeaseStore, validateElectionDurations } from './kubernetes/leader-election.ts';
import { loadKubeConfig } from './kubernetes/kube-config.ts';
import { kubernetesEventSink } from './kubernetes/events.ts';
import { CommitStatusConfigError, gitHostForStatuses, readCommitStatusFile, resolveCommitStatus } from './commit-status/config.ts';

export const CONTROLLER_USAGE = `usage: promshard controller --repo URL_OR_PATH --state-dir DIR --token-file FILE --webhook-secret-file FILE [options]

  --repo URL_OR_PATH          configuration repository to follow (cloned bare into the state dir): a URL,
                              or a local git root or the folder in it that holds shards.yaml
  --branch NAME               branch to follow (default main)
  --listen HOST:PORT          API address (default 127.0.0.1:8480)
  --state-dir DIR             clone and known-agents registry
  --token-file FILE           admin bearer token (every endpoint)
  --read-token-file FILE      read-only bearer token (GET endpoints)
  --agent-secret-file FILE    secret each agent's own credential is derived from (promshard agent-token);
                              an agent's credential is accepted for its own shard and replica only
  --agent-token-file FILE     LEGACY, insecure: one token shared by every agent (any agent host can act
                              as any replica). Without either flag agents use the admin token (worse)
  --webhook-secret-file FILE  secret of POST /v1/webhook: HMAC key (GitHub X-Hub-Signature-256, Gitea/Forgejo
                              X-Gitea-Signature) and GitLab X-Gitlab-Token
  --poll DURATION             fetch interval when no webhook arrives (default 30s; 0 disables)
  --reconcile DURATION        drift-repair interval (default 10s)
  --heartbeat-timeout DURATION  agent silent this long = unreachable (default 30s: 3 × agents' 10s)
  --agents-file FILE          static agents: YAML/JSON list of {shard, replica, url}
  --repo-subdir DIR           where shards.yaml lives (default: root, or scrape-configs/ if root has none)
  --open-read-access          GET endpoints without a token (demos on loopback only)
  --canary-shard NAME         shard that goes first when a change touches several
  --concurrency N             pushes in flight at once (default 32)
  --push-timeout DURATION     one push, including the agent's reload and proof (default 30s)
  --max-event-streams N       server-sent event streams open at once, API and dashboard together (default 1000)
  --max-event-streams-per-client N  … from one client address (default 32); past either bound: 429
  --dashboard-session DURATION  how long a dashboard sign-in lasts; checked by the server (default 12h)
  --reshard-overlap-max DURATION  longest a reshard keeps moved targets on their old and new split (default 10m)

Commit statuses (docs/controller.md "Commit statuses"): each revision's rollout on its commit, one
context per shard (promshard/<shard>); a slow or failing git host never delays a rollout
  --commit-status github|gitlab  report through this host's commit-status API
  --commit-status-repo REPO   owner/name (GitHub) or project id or group/project (GitLab)
  --commit-status-api URL     API base (default https://api.github.com / https://gitlab.com/api/v4;
                              GitHub Enterprise https://HOST/api/v3, self-hosted GitLab https://HOST/api/v4)
  --commit-status-token-file FILE  token allowed to write statuses (GitLab: not CI_JOB_TOKEN)
  --commit-status-config FILE  the same settings as YAML: host, repo, api, tokenFile, externalUrl (flags win)
  --external-url URL          the dashboard's public URL: statuses link to URL/revisions/<sha>
  --global-view-url URL       http(s) URL of the global view (where shards.yaml's remote_write lands: a
                              Prometheus/Thanos/Grafana UI), linked from every dashboard page's header

Agent discovery (Kubernetes mode; docs/kubernetes.md "Agent discovery"):
  --kubernetes                find agents as Pods labelled promshard.io/shard (URL: pod IP + the container
                              port named promshard-agent); beside --agents-file and self-registration
  --namespace NS              namespace to watch; repeat for several (default: the kubeconfig's / the pod's)
  --agent-selector SEL        extra label selector ANDed with promshard.io/shard (e.g. app=prometheus)
  --kubernetes-watch-timeout DURATION  the API server ends each pod watch after this (default 60s)
  --kubernetes-watch-silence DURATION  watchdog: a watch silent this long is dropped and the pods
                              relisted (default: watch timeout + 30s)

Leader election (Kubernetes mode; docs/kubernetes.md "Leader election and fencing"):
  --leader-elect              elect a leader on a coordination.k8s.io/v1 Lease: only the leader pushes,
                              repairs and answers pulls; followers follow git and serve the read API
  --lease-namespace NS        namespace of the Lease (default: the kubeconfig's / the pod's namespace)
  --lease-name NAME           Lease name (default ${DEFAULT_LEASE_NAME})
  --leader-identity ID        this controller's identity in the Lease (default $POD_NAME, else the hostname)
  --lease-duration DURATION   how long followers wait on a Lease that stopped being renewed (default 15s)
  --renew-deadline DURATION   a leader that could not renew for this long stops pushing (default 10s)
  --retry-period DURATION     how often the leader renews (followers read twice as often) (default 2s)
  --kubeconfig FILE           kubeconfig (default: $KUBECONFIG, the in-cluster service account, ~/.kube/config)
  --shard-statefulset PATTERN the leader records rollout Events (finished, halted, refused by Prometheus)
                              on this StatefulSet of each shard; {shard} is replaced (default prometheus-{shard})
`;

export async function run(argv: string[]): Promise<number> {
  let flags;
  try {
    ({ values: flags } = parseFlags(argv, {
      repo: { type: 'string' },
      branch: { type: 'string', default: 'main' },
      listen: { type: 'string', default: '127.0.0.1:8480' },
      'state-dir': { type: 'string' },
      'token-file': { type: 'string' },
      'read-token-file': { type: 'string' },
      'agent-token-file': { type: 'string' },
      'agent-secret-file': { type: 'string' },
      'webhook-secret-file': { type: 'string' },
      poll: { type: 'string', default: '30s' },
      reconcile: { type: 'string', default: '10s' },
      'heartbeat-timeout': { type: 'string', default: '30s' },
      'agents-file': { type: 'string' },
      'repo-subdir': { type: 'string' },
      'open-read-access': { type: 'boolean', default: false },
      'canary-shard': { type: 'string' },
      concurrency: { type: 'string', default: '32' },
      'push-timeout': { type: 'string', default: '30s' },
      'max-event-streams': { type: 'string', default: '1000' },
      'max-event-streams-per-client': { type: 'string', default: '32' },
      'dashboard-session': { type: 'string', default: '12h' },
      'reshard-overlap-max': { type: 'string', default: '10m' },
      'leader-elect': { type: 'boolean', default: false },
      'lease-namespace': { type: 'string' },
      'lease-name': { type: 'string', default: DEFAULT_LEASE_NAME },
      'leader-identity': { type: 'string' },
      'lease-duration': { type: 'string', default: '15s' },
      'renew-deadline': { type: 'string', default: '10s' },
      'retry-period': { type: 'string', default: '2s' },
      kubeconfig: { type: 'string' },
      'shard-statefulset': { type: 'string', default: 'prometheus-{shard}' },
      kubernetes: { type: 'boolean', default: false },
      namespace: { type: 'string', multiple: true },
      'agent-selector': { type: 'string' },
      'kubernetes-watch-timeout': { type: 'string', default: '60s' },
      'kubernetes-watch-silence': { type: 'string' },
      'commit-status': { type: 'string' },
      'commit-status-repo': { type: 'string' },
      'commit-status-api': { type: 'string' },
      'commit-status-token-file': { type: 'string' },
      'commit-status-config': { type: 'string' },
      'external-url': { type: 'string' },
      'global-view-url': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    }));
    if (flags.help) {
      process.stdout.write(CONTROLLER_USAGE);
      return 0;
    }
    for (const required of ['repo', 'state-dir', 'token-file', 'webhook-secret-file'] as const) {
      if (!flags[required]) throw new UsageError(`--${required} is required`);
    }
    if (flags['agent-secret-file'] && flags['agent-token-file']) throw new UsageError('--agent-secret-file and --agent-token-file exclude each other (per-agent credentials replace the shared token)');
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`promshard controller: ${err.message}\n\n${CONTROLLER_USAGE}`);
      return 2;
    }
    throw err;
  }
  const concurrency = Number(flags.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    process.stderr.write('promshard controller: --concurrency must be a positive integer\n');
    return 2;
  }
  const streamLimits: Record<string, number> = {};
  for (const flag of ['max-event-streams', 'max-event-streams-per-client'] as const) {
    const n = Number(flags[flag]);
    if (!Number.isInteger(n) || n < 1) {
      process.stderr.write(`promshard controller: --${flag} must be a positive integer\n`);
      return 2;
    }
    streamLimits[flag] = n;
  }
  const dashboardSessionMs = requireDurationMs(flags['dashboard-session']!, '--dashboard-session');
  if (dashboardSessionMs < 1000) {
    process.stderr.write('promshard controller: --dashboard-session must be at least 1s\n');
    return 2;
  }
  const listenAddr = flags.listen!;
  if (flags['open-read-access'] && !/^(127\.|localhost|\[::1\]|::1)/.test(listenAddr)) {
    process.stderr.write('promshard controller: warning: --open-read-access on a non-loopback address exposes the fleet status to anyone who can connect\n');
  }
  let leaderElection: Parameters<typeof startController>[0]['leaderElection'];
  /** Read once for the Lease and reused for the rollout Events (the leader records them). */
  let leaderKube: Awaited<ReturnType<typeof loadKubeConfig>> | undefined;
  if (flags['leader-elect']) {
    const durations = {
      leaseDurationMs: requireDurationMs(flags['lease-duration']!, '--lease-duration'),
      renewDeadlineMs: requireDurationMs(flags['renew-deadline']!, '--renew-deadline'),
      retryPeriodMs: requireDurationMs(flags['retry-period']!, '--retry-period'),
    };
    const bad = validateElectionDurations(durations);
    if (bad) {
      process.stderr.write(`promshard controller: ${bad}\n`);
      return 2;
    }
    let loaded;
    try {
      loaded = await loadKubeConfig({ kubeconfig: flags.kubeconfig });
    } catch (err) {
      process.stderr.write(`promshard controller: --leader-elect: ${(err as Error).message}\n`);
      return 2;
    }
    leaderKube = loaded;
    const namespace = flags['lease-namespace'] ?? loaded.namespace;
    leaderElection = {
      store: await kubernetesLeaseStore(loaded.kc, namespace, flags['lease-name']!),
      identity: flags['leader-identity'] ?? process.env.POD_NAME ?? hostname(),
      ...durations,
      ignoreRenewDeadline: process.env.PROMSHARD_FAULT_IGNORE_RENEW_DEADLINE === '1',
    };
    if (leaderElection.ignoreRenewDeadline) process.stderr.write('promshard controller: FAULT INJECTION (PROMSHARD_FAULT_IGNORE_RENEW_DEADLINE=1): this controller keeps pushing when it cannot renew its Lease; for tests of fencing only\n');
  }
  let kubernetes: Parameters<typeof startController>[0]['kubernetes'];
  if (flags.kubernetes) {
    const watchTimeoutMs = requireDurationMs(flags['kubernetes-watch-timeout']!, '--kubernetes-watch-timeout');
    if (watchTimeoutMs < 1000) {
      process.stderr.write('promshard controller: --kubernetes-watch-timeout must be at least 1s\n');
      return 2;
    }
    const silenceMs = flags['kubernetes-watch-silence'] ? requireDurationMs(flags['kubernetes-watch-silence'], '--kubernetes-watch-silence') : undefined;
    if (silenceMs !== undefined && silenceMs <= watchTimeoutMs) {
      process.stderr.write('promshard controller: --kubernetes-watch-silence must be longer than --kubernetes-watch-timeout (a healthy watch may stay quiet until the server ends it)\n');
      return 2;
    }
    kubernetes = { kubeconfig: flags.kubeconfig, namespaces: flags.namespace, agentSelector: flags['agent-selector'], watchTimeoutSeconds: Math.round(watchTimeoutMs / 1000), silenceMs };
  } else if (flags.namespace?.length || flags['agent-selector']) {
    process.stderr.write('promshard controller: --namespace and --agent-selector need --kubernetes\n');
    return 2;
  }
  let kubernetesEvents: Parameters<typeof startController>[0]['kubernetesEvents'];
  if (leaderElection && leaderKube) {
    const pattern = flags['shard-statefulset']!;
    const loaded = leaderKube;
    kubernetesEvents = { sink: await kubernetesEventSink(loaded.kc), namespace: flags['lease-namespace'] ?? loaded.namespace, statefulSet: (shard) => pattern.replaceAll('{shard}', shard) };
  }
  let commitStatus: Parameters<typeof startController>[0]['commitStatus'];
  if (flags['commit-status'] || flags['commit-status-config']) {
    try {
      const settings = resolveCommitStatus(
        { host: flags['commit-status'] as 'github' | 'gitlab' | undefined, repo: flags['commit-status-repo'], api: flags['commit-status-api'], tokenFile: flags['commit-status-token-file'], externalUrl: flags['external-url'] },
        flags['commit-status-config'] ? readCommitStatusFile(flags['commit-status-config']) : {},
      );
      commitStatus = { host: gitHostForStatuses(settings), externalUrl: settings.externalUrl };
      if (!settings.externalUrl) process.stderr.write('promshard controller: warning: no --external-url: commit statuses will not link to the revision page\n');
    } catch (err) {
      if (!(err instanceof CommitStatusConfigError)) throw err;
      process.stderr.write(`promshard controller: ${err.message}\n`);
      return 2;
    }
  }
  const controller = await startController({
    ...resolveControllerRepository(flags.repo!, flags['repo-subdir']),
    branch: flags.branch,
    listen: listenAddr,
    stateDir: flags['state-dir']!,
    token: readTokenFile(flags['token-file']!),
    readToken: flags['read-token-file'] ? readTokenFile(flags['read-token-file']) : undefined,
    agentToken: flags['agent-token-file'] ? readTokenFile(flags['agent-token-file']) : undefined,
    agentSecret: flags['agent-secret-file'] ? readTokenFile(flags['agent-secret-file']) : undefined,
    webhookSecret: readTokenFile(flags['webhook-secret-file']!),
    pollMs: requireDurationMs(flags.poll!, '--poll'),
    reconcileMs: requireDurationMs(flags.reconcile!, '--reconcile'),
    heartbeatTimeoutMs: requireDurationMs(flags['heartbeat-timeout']!, '--heartbeat-timeout'),
    agentsFile: flags['agents-file'],
    openReadAccess: flags['open-read-access'],
    canaryShard: flags['canary-shard'],
    concurrency,
    pushTimeoutMs: requireDurationMs(flags['push-timeout']!, '--push-timeout'),
    maxEventStreams: streamLimits['max-event-streams'],
    maxEventStreamsPerClient: streamLimits['max-event-streams-per-client'],
    dashboardSessionMs,
    reshardBoundMs: requireDurationMs(flags['reshard-overlap-max']!, '--reshard-overlap-max'),
    globalViewUrl: flags['global-view-url'],
    leaderElection,
    commitStatus,
    kubernetesEvents,
    kubernetes,
  });
  process.stdout.write(`promshard controller listening on ${controller.url}\n`);
  // Defence in depth only: every timer, listener and stream callback guards itself (issue 10). Should
  // one still throw, log it and keep serving the fleet rather than die on one bad input.
  const lastResort = (kind: string) => (err: unknown) => {
    controller.runtime.log.error(`${kind} (last-resort guard; this is a bug)`, { error: err });
    controller.metrics.uncaughtErrors.inc({ kind });
  };
  process.on('uncaughtException', lastResort('uncaught exception'));
  process.on('unhandledRejection', lastResort('unhandled rejection'));
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await controller.close();
  return 0;
}
