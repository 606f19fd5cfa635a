// Generates a large, valid configuration repository (default: 5,000 files, 50,000 targets, 200 shards)
// for benchmarks and for the test that every rendered shard of a big repository passes promtool.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface GeneratedRepositoryShape {
  files: number;
  targetsPerFile: number;
  shards: number;
  jobsPerFile: number;
}

export const BENCH_SHAPE: GeneratedRepositoryShape = { files: 5000, targetsPerFile: 10, shards: 200, jobsPerFile: 2 };

export function teamFilePath(i: number): string {
  return `teams/team-${String(i % 250).padStart(3, '0')}/service-${String(i).padStart(5, '0')}.yaml`;
}

export function teamFileText(i: number, shape: GeneratedRepositoryShape, extraTargets: string[] = []): string {
  const team = `team-${String(i % 250).padStart(3, '0')}`;
  const shard = `shard-${String(i % shape.shards).padStart(3, '0')}`;
  const perJob = Math.ceil(shape.targetsPerFile / shape.jobsPerFile);
  let out = `team: ${team}\nshard: ${shard}\njobs:\n`;
  let t = 0;
  for (let j = 0; j < shape.jobsPerFile; j++) {
    out += `  - name: svc-${i}-${j}\n    interval: ${j % 2 ? '30s' : '1m'}\n    labels: { service: svc-${i}, tier: t${j} }\n`;
    if (j === 1) out += `    metric_relabel_configs:\n      - source_labels: [__name__]\n        regex: "go_gc_.*|process_.*"\n        action: drop\n`;
    out += `    targets:\n`;
    for (let k = 0; k < perJob && t < shape.targetsPerFile; k++, t++) out += `      - host-${i}-${t}.dc${i % 7}.internal:${9100 + (t % 20)}\n`;
    if (j === 0) for (const x of extraTargets) out += `      - ${x}\n`;
  }
  return out;
}

export function shardsYamlText(shape: GeneratedRepositoryShape): string {
  let out = `defaults:\n  interval: 1m\n  timeout: 10s\n  limits: { sample_limit: 20000, label_limit: 40 }\n  max_limits: { sample_limit: 100000, label_limit: 80 }\nshards:\n`;
  for (let s = 0; s < shape.shards; s++) {
    out += `  - name: shard-${String(s).padStart(3, '0')}\n    replicas: 2\n    budget: { max_series: 5000000, max_targets: 5000 }\n    external_labels: { shard: shard-${String(s).padStart(3, '0')}, region: r${s % 5} }\n`;
  }
  return out;
}

/** Writes the repository under `root` and returns the number of files written. */
export function generateRepository(root: string, shape: GeneratedRepositoryShape = BENCH_SHAPE): number {
  mkdirSync(root, { recursive: true });
  writeFileSync(join(root, 'shards.yaml'), shardsYamlText(shape));
  for (let i = 0; i < shape.files; i++) {
    const path = join(root, teamFilePath(i));
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, teamFileText(i, shape));
  }
  return shape.files + 1;
}
