// Leader failover and handover (issue 12): `promshard controller --leader-elect` processes against the
// test Kubernetes API server (HTTPS, real Lease concurrency; no cluster can run here), with two real
// agents and real Prometheus (test/kubernetes/leader-fleet.ts).
//   failover: SIGKILL of the leader → the new leader's first successful push (the fencing push of its
//             term, which an agent answers `unchanged`): goal < lease duration + 2 s with client-go's
//             defaults (15 s / 10 s / 2 s); also with a 5 s lease (renew deadline 3 s, retry 2 s);
//   handover: SIGTERM of the leader (it releases the Lease) → the new leader's first successful push:
//             goal < 2 s.
// The kill lands at a random point of the leader's renew cycle. Runs per case: BENCH_FAILOVER_RUNS (3).
//
// Run: node --import tsx bench/leader-failover.ts
import { LeaderFleet, type ControllerHandle } from '../test/kubernetes/leader-fleet.ts';
import { killAllChildren } from '../test/support/fleet.ts';
import { waitFor } from '../test/support/wait-for.ts';

const RUNS = Number(process.env.BENCH_FAILOVER_RUNS ?? 3);

interface Case {
  leaseSeconds: number;
  renewDeadline: string;
  retryPeriod: string;
  retryMs: number;
}

/** ms from the signal until both agents have taken a push carrying the new leader's term. */
async function measure(c: Case, signal: 'SIGKILL' | 'SIGTERM'): Promise<number[]> {
  const fleet = new LeaderFleet({ leaseSeconds: c.leaseSeconds, renewDeadline: c.renewDeadline, retryPeriod: c.retryPeriod });
  const out: number[] = [];
  try {
    await fleet.start();
    let n = 0;
    let leader: ControllerHandle = await fleet.controller(`c${++n}`);
    await waitFor('first leader', async () => (await fleet.leader(leader)).isLeader, 60_000);
    for (let run = 0; run < RUNS; run++) {
      const follower = await fleet.controller(`c${++n}`);
      await waitFor('the follower knows the leader', async () => (await fleet.leader(follower)).leader === leader.identity, 30_000);
      const term = (await fleet.leader(leader)).term;
      await waitFor('agents at the current term', () => fleet.replicas.every((r) => r.agent.status().term === term), 60_000);
      await new Promise((r) => setTimeout(r, Math.random() * c.retryMs)); // anywhere in the renew cycle
      const t0 = performance.now();
      const stopped = leader.proc.kill(signal, 10_000);
      // The first replica to take the new term is the new leader's first successful push.
      await waitFor('the new leader pushed', () => fleet.replicas.some((r) => (r.agent.status().term ?? 0) > term), c.leaseSeconds * 1000 + 30_000, 2);
      out.push(Math.round(performance.now() - t0));
      await stopped;
      leader = follower;
    }
  } finally {
    await killAllChildren();
    await fleet.close();
  }
  return out;
}

const summary = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return { median: s[Math.floor((s.length - 1) / 2)]!, max: s[s.length - 1]! };
};

export async function runLeaderFailoverBench(): Promise<Record<string, number | string>> {
  const defaults: Case = { leaseSeconds: 15, renewDeadline: '10s', retryPeriod: '2s', retryMs: 2000 };
  const short: Case = { leaseSeconds: 5, renewDeadline: '3s', retryPeriod: '2s', retryMs: 2000 };
  const killDefault = await measure(defaults, 'SIGKILL');
  const killShort = await measure(short, 'SIGKILL');
  const term = await measure(defaults, 'SIGTERM');
  const kd = summary(killDefault);
  const ks = summary(killShort);
  const t = summary(term);
  return {
    runs: RUNS,
    'failover 15s lease: median ms': kd.median,
    'failover 15s lease: max ms': kd.max,
    'failover 15s lease: goal < 17000 ms': kd.max < 17_000 ? 'met' : 'MISSED',
    'failover 5s lease: median ms': ks.median,
    'failover 5s lease: max ms': ks.max,
    'failover 5s lease: goal < 7000 ms': ks.max < 7_000 ? 'met' : 'MISSED',
    'SIGTERM handover: median ms': t.median,
    'SIGTERM handover: max ms': t.max,
    'SIGTERM handover: goal < 2000 ms': t.max < 2_000 ? 'met' : 'MISSED',
    all: `kill15=${killDefault.join('/')} kill5=${killShort.join('/')} term=${term.join('/')}`,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(JSON.stringify(await runLeaderFailoverBench(), null, 2));
}
