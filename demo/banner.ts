// What the demo prints once the fleet is up: where everything is, and three things to try.
import { DEMO_TEAM, DEMO_TEAM_FILE } from './demo-repository.ts';
import type { RunningDemo } from './start-demo.ts';

export function readyBanner(demo: RunningDemo, o: { shards: string[]; replicas: number; logFile: string; inSync: boolean; stopHint: string }): string {
  const url = demo.dashboardUrl.replace(/\/$/, '');
  const repo = demo.repository.dir;
  const lines: string[] = [];
  lines.push('');
  lines.push(o.inSync ? 'promshard demo is running: every replica runs its shard\'s configuration.' : 'promshard demo is running (some replicas are still converging; see the dashboard).');
  lines.push('');
  lines.push(`  Dashboard:   ${url}/`);
  lines.push(`  Repository:  ${repo}`);
  lines.push(`               (git, branch ${demo.repository.branch}; each commit reaches the controller at once through a signed post-commit webhook)`);
  lines.push(`  API:         ${url}/v1/shards   (open read access, loopback only)`);
  lines.push(`  Metrics:     ${url}/metrics`);
  lines.push(`  Global view: ${demo.globalViewUrl}/   (a Prometheus receiving every shard's remote_write)`);
  lines.push(`  Logs:        ${o.logFile}`);
  lines.push('');
  lines.push(`  Shards: ${o.shards.join(', ')}, ${o.replicas} replica(s) each (real Prometheus + shard agent):`);
  for (const r of demo.replicas) lines.push(`    ${`${r.shard}/${r.replica}`.padEnd(16)} prometheus ${r.prometheusUrl}   agent ${r.agent.url}`);
  lines.push(`  (shard "platform" is not started: it uses kubernetes_sd_configs, which Debian's Prometheus is built without)`);
  lines.push('');
  lines.push('Try this:');
  lines.push('');
  lines.push('  1. Add a job, commit, and watch it roll out, one replica after the other:');
  lines.push(`       cd ${repo}`);
  lines.push(`       printf '  - name: demo-extra\\n    targets: ["127.0.0.1:9100"]\\n' >> ${DEMO_TEAM_FILE}`);
  lines.push(`       git commit -qam "demo: scrape one more target"`);
  lines.push(`     Only the ${demo.demoShard} shard reloads; the timeline shows each push and reload.`);
  lines.push(`     The commit prints its revision page, ${url}/revisions/<sha>: each replica that applied it, and`);
  lines.push(`     whether demo-extra's target is up (nothing listens on 9100 here, so it shows Prometheus's error).`);
  lines.push('');
  lines.push('  2. Break a file, commit, and watch it be quarantined (that file keeps its last good version; other files still roll out):');
  lines.push(`       sed -i 's/timeout: 4s/timeout: 9s/' ${DEMO_TEAM_FILE}   # timeout longer than the 5s interval`);
  lines.push(`       git commit -qam "demo: an invalid timeout"`);
  lines.push(`     ${url}/repository lists the quarantined file and every finding with file:line:col. Undo: git revert --no-edit HEAD`);
  lines.push('');
  lines.push(`  3. See a cardinality flag (a UUID request_id label) with its ready relabel fix:`);
  lines.push(`       ${url}/teams/${DEMO_TEAM}   (the analyzer runs every 15 s)`);
  lines.push('');
  lines.push('  4. Query the whole fleet in one place, each series labelled by shard and replica:');
  lines.push(`       ${demo.globalViewUrl}/graph?g0.expr=${encodeURIComponent('count by (promshard_shard, replica) (up)')}&g0.tab=1`);
  lines.push('');
  lines.push(o.stopHint);
  lines.push('');
  return lines.join('\n');
}
