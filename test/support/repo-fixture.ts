// In-memory and on-disk repositories for tests: compile a handful of files without touching git.
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { compileRepository, type Compilation } from '../../core/compiler/compile-repository.ts';
import { ALL_RULES } from '../../ci/rules/index.ts';
import type { RepositorySource } from '../../core/repository/repository-source.ts';

export const BASIC_SHARDS_YAML = `defaults:
  interval: 30s
  timeout: 10s
  limits: { sample_limit: 10000, label_limit: 30 }
  max_limits: { sample_limit: 50000, label_limit: 60 }
shards:
  - name: networking
    replicas: 2
    budget: { max_series: 100000, max_targets: 100 }
    external_labels: { shard: networking }
  - name: storage
    replicas: 2
    budget: { max_series: 100000, max_targets: 100 }
`;

/**
 * One `checkout` shard, one replica, 1 s interval: a live fleet (real Prometheus under an agent) sees a
 * new target's series, and the agent's cardinality flag, within seconds.
 */
export const CHECKOUT_1S_SHARDS_YAML = `defaults:
  interval: 1s
  timeout: 1s
shards:
  - name: checkout
    replicas: 1
    budget: { max_series: 100000, max_targets: 10 }
`;

/** Compiles an in-memory repository: `files` maps repository paths to their text. */
export function compileFiles(files: Record<string, string>): Compilation {
  const source: RepositorySource = {
    origin: 'memory',
    files: Object.entries(files)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([path, text]) => ({ path, bytes: Buffer.from(text) })),
  };
  return compileRepository(source, { rules: ALL_RULES });
}

/** Compiles one team file against BASIC_SHARDS_YAML (or the given shards file). */
export function compileTeamFile(text: string, path = 'teams/netops/main.yaml', shardsYaml = BASIC_SHARDS_YAML): Compilation {
  return compileFiles({ 'shards.yaml': shardsYaml, [path]: text });
}

/** Writes files into a fresh temp directory and returns its path. */
export function writeRepository(files: Record<string, string | Buffer>): string {
  const root = mkdtempSync(join(tmpdir(), 'promshard-repo-'));
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
  }
  return root;
}
