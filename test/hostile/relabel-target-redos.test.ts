// Regression found by the YAML fuzz (seed 1556525005, run 3577): one flipped byte in a target_label
// (`…prometheus_io_p|rt`) made the relabel-config rule's copy of Prometheus's relabelTarget regex
// backtrack exponentially in JavaScript. The compiler never returned, so a single pull request could
// hang CI and — once merged — the controller's sync loop for good. The compile runs in a child process
// under a watchdog, because a synchronous hang cannot be stopped by a test timeout.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { it } from 'node:test';

const FIXTURE = fileURLToPath(new URL('../support/repo-fixture.ts', import.meta.url));

function compileInChild(teamFile: string, watchdogMs: number): Promise<{ hung: boolean; out: string; ms: number }> {
  const script = `import { compileTeamFile } from ${JSON.stringify(FIXTURE)};
const c = compileTeamFile(${JSON.stringify(teamFile)});
process.stdout.write(JSON.stringify(c.findings.map((f) => f.ruleId + ' ' + f.message)));`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d));
  child.stderr.on('data', (d: Buffer) => (out += d));
  const t0 = Date.now();
  let hung = false;
  const timer = setTimeout(() => {
    hung = true;
    child.kill('SIGKILL');
  }, watchdogMs);
  return new Promise((resolve) => child.once('exit', () => {
    clearTimeout(timer);
    resolve({ hung, out, ms: Date.now() - t0 });
  }));
}

for (const [what, target] of [
  ['a long target_label with an invalid character at the end', '__meta_kubernetes_pod_annotation_prometheus_io_p|rt'],
  ['many $-references followed by an invalid character', '$abcd'.repeat(40) + '-'],
  ['a long name ending in a space', 'a'.repeat(5000) + ' '],
] as const) {
  it(`relabel target_label: ${what} is refused quickly`, async () => {
    const team = `team: netops\nshard: networking\njobs:\n  - name: r\n    targets: ["127.0.0.1:9100"]\n    relabel_configs:\n      - source_labels: [__address__]\n        target_label: ${JSON.stringify(target)}\n`;
    const r = await compileInChild(team, 20_000);
    assert.ok(!r.hung, `the compiler hung on target_label ${JSON.stringify(target.slice(0, 60))}`);
    assert.match(r.out, /relabel-config .*is not a valid target_label/, r.out.slice(0, 500));
  });
}
