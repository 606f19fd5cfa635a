// A leader-elected fleet for the failover tests and bench/leader-failover.ts: the test Kubernetes API
// server (HTTPS, Leases with real concurrency; no cluster here), a real git repository, real agents
// with real Prometheus (in this process), and `promshard controller --leader-elect` as real processes
// (each with its own API token, so the server can partition or forbid one of them alone), finding the
// agents through --agents-file.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startKubeApiServer, writeKubeconfig, type KubeApiServer } from '../support/kube-api-server.ts';
import { startControllerProcess, stablePort, writeSecret, type NodeProcess } from '../support/fleet.ts';
import { GitRepo, SHARDS_YAML, startReplica, stopReplica, teamFile, TOKEN, type Replica } from '../controller/helpers.ts';
import type { StartAgentOptions } from '../../shard-agent/start-agent.ts';

export const LEASE_NAMESPACE = 'fleet';

export interface LeaderFleetOptions {
  leaseSeconds: number;
  renewDeadline: string;
  retryPeriod: string;
  agentOpts?: Partial<StartAgentOptions>;
  replicas?: string[];
}

export interface ControllerHandle {
  identity: string;
  token: string;
  proc: NodeProcess;
  url: string;
}

export class LeaderFleet {
  api!: KubeApiServer;
  repo!: GitRepo;
  replicas: Replica[] = [];
  readonly dir = mkdtempSync(join(tmpdir(), 'promshard-leader-fleet-'));
  private agentsFile = join(this.dir, 'agents.json');
  private secrets = join(this.dir, 'secrets');
  readonly leaseName = `promshard-controller-${Math.random().toString(36).slice(2, 8)}`;

  constructor(readonly o: LeaderFleetOptions) {}

  async start(): Promise<void> {
    this.api = await startKubeApiServer();
    this.repo = new GitRepo();
    this.repo.commit({ 'shards.yaml': SHARDS_YAML, 'teams/netops/routers.yaml': teamFile('netops', 'networking', { routers: ['127.0.0.1:9101'] }) });
    for (const r of this.o.replicas ?? ['a', 'b']) this.replicas.push(await startReplica('networking', r, undefined, [], this.o.agentOpts ?? {}));
    writeFileSync(this.agentsFile, JSON.stringify(this.replicas.map((r) => ({ shard: r.shard, replica: r.replica, url: r.agent.url }))));
    mkdirSync(this.secrets, { recursive: true });
  }

  /** Starts `promshard controller --leader-elect` as identity `identity`. */
  async controller(identity: string, env: Record<string, string> = {}): Promise<ControllerHandle> {
    const token = `kube-token-${identity}`;
    const kubeconfig = writeKubeconfig(this.api, this.dir, { token, namespace: LEASE_NAMESPACE });
    const stateDir = join(this.dir, `state-${identity}`);
    const { proc, url } = await startControllerProcess({
      repo: this.repo.dir,
      port: await stablePort(),
      stateDir,
      tokenFile: writeSecret(this.secrets, 'token', TOKEN),
      webhookSecretFile: writeSecret(this.secrets, 'webhook', 'leader-fleet-webhook-secret'),
      flags: [
        '--agents-file', this.agentsFile,
        '--poll', '300ms',
        '--reconcile', '500ms',
        '--leader-elect',
        '--kubeconfig', kubeconfig,
        '--lease-name', this.leaseName,
        '--leader-identity', identity,
        '--lease-duration', `${this.o.leaseSeconds}s`,
        '--renew-deadline', this.o.renewDeadline,
        '--retry-period', this.o.retryPeriod,
      ],
      spawn: { env: { PROMSHARD_LOG_LEVEL: 'info', ...env } },
    });
    return { identity, token, proc, url };
  }

  async leader(c: ControllerHandle): Promise<{ isLeader: boolean; leader: string | null; term: number; lastError: string | null }> {
    const res = await fetch(`${c.url}/v1/leader`, { headers: { authorization: `Bearer ${TOKEN}` } });
    return (await res.json()) as { isLeader: boolean; leader: string | null; term: number; lastError: string | null };
  }

  async close(): Promise<void> {
    for (const r of this.replicas) await stopReplica(r).catch(() => undefined);
    await this.api?.close();
    this.repo?.destroy();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
