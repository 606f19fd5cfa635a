// `promshard render --out DIR`: one directory per shard holding its prometheus.yml (and a manifest).
import { mkdirSync, writeFileSync, renameSync, rmSync, existsSync } from 'node:fs';
import { join, resolve, dirname } from 'node:path';
import { parseFlags } from '../cli/args.ts';
import { compileRepository } from '../core/compiler/compile-repository.ts';
import { ALL_RULES } from './rules/index.ts';
import { readRepositoryFromDirectory } from '../core/repository/repository-source.ts';
import { buildShardDocuments } from '../core/render/shard-documents.ts';
import { formatFindings } from './output/format-findings.ts';
import { displayPathFor, resolveRepositoryDir } from './repository-location.ts';
import { createProgress } from '../cli/progress.ts';

const HELP = `usage: promshard render [--repo DIR] --out DIR

Renders one directory per shard (DIR/<shard>/prometheus.yml plus manifest.json with sha256 sums).
Refuses to render an invalid repository (prints the findings, exit 1). Output is deterministic.
`;

export async function run(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, { repo: { type: 'string' }, out: { type: 'string' }, help: { type: 'boolean', short: 'h' } });
  if (values.help || !values.out) {
    process.stdout.write(HELP);
    return values.help ? 0 : 2;
  }
  const repoDir = resolveRepositoryDir(values.repo);
  const source = readRepositoryFromDirectory(repoDir);
  const compilation = compileRepository(source, { rules: ALL_RULES });
  if (!compilation.valid || !compilation.model) {
    process.stderr.write(formatFindings('text', compilation.findings, { displayPath: displayPathFor(repoDir), color: false, filesChecked: source.files.length }));
    process.stderr.write('promshard render: the repository is invalid; nothing was written\n');
    return 1;
  }
  const docs = buildShardDocuments(compilation.model, { revision: 'working-tree', generation: 0, committedAt: new Date(0).toISOString() });
  const out = resolve(values.out);
  // Render into a sibling temp dir and swap it in, so a reader never sees half of a render.
  const staging = `${out}.tmp-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  const progress = createProgress('render', docs.size);
  for (const [shard, doc] of docs) {
    for (const f of doc.files) {
      const path = join(staging, shard, f.path);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, f.content);
    }
    writeFileSync(join(staging, shard, 'manifest.json'), JSON.stringify({ shard, hash: doc.hash, files: doc.files.map((f) => ({ path: f.path, sha256: f.sha256 })), owners: doc.owners }, null, 2) + '\n');
    progress.tick(shard);
  }
  progress.done();
  mkdirSync(staging, { recursive: true });
  if (existsSync(out)) rmSync(out, { recursive: true, force: true });
  renameSync(staging, out);
  process.stdout.write(`rendered ${docs.size} shard(s) into ${values.out}\n`);
  return 0;
}
