// The bundled CLI validates with ajv's standalone code generated at build time (bin/build-bundle.mjs);
// the sources compile the same schemas with ajv at run time. They must report the same errors (keyword,
// path, params, data and parent schema: the schema and unknown-key rules read all of them) on every
// YAML document of the docs and the example repository, and on hand-made bad files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { projectRoot } from '../../core/project-root.ts';
import { standaloneSchemaValidatorsCode } from '../../core/compiler/schema-validators-standalone.ts';
import { schemaValidators, type SchemaValidators } from '../../core/compiler/schema-validators.ts';
import { parseYamlText } from '../../core/repository/parse-yaml-file.ts';
import { readRulesDoc } from '../rules/docs-examples.ts';

const root = projectRoot();

function documents(): unknown[] {
  const texts: string[] = [];
  for (const s of readRulesDoc().sections.values()) for (const b of s.blocks) if (b.lang === 'yaml') texts.push(b.text);
  texts.push(...Object.values(readRulesDoc().base));
  const example = join(root, 'scrape-configs');
  for (const e of readdirSync(example, { recursive: true, withFileTypes: true })) {
    if (e.isFile() && /\.ya?ml$/.test(e.name)) texts.push(readFileSync(join(e.parentPath, e.name), 'utf8'));
  }
  const docs = texts.map((t) => parseYamlText(t)).flatMap((r) => (r.ok ? [r.data] : []));
  const job = { name: 'j', targets: ['a:1'] };
  docs.push(
    null,
    'text',
    [],
    { team: 1, shard: ['x'], jobs: 'no' },
    { team: 't', shard: 's', jobs: [{ ...job, intervall: '1m', labels: { 'bad key': 1 }, limits: { sample_limit: -1 } }] },
    { team: 't', shard: 's', jobs: [{ ...job, scheme: 'ftp', metric_relabel_configs: [{ action: 'nope', regex: 5 }] }, { name: '' }] },
    { team: 't', shard: 's', jobs: [{ ...job, basic_auth: { username: 'u', password: 'p' }, discovery: { dns: {} } }] },
    { shards: [{ name: 'a', replicas: 'two', budget: { max_series: 'x' } }], defaults: { interval: 5, unknown: true } },
    { shards: [], secrets_root: 3 },
  );
  return docs;
}

const comparable = (errors: unknown) => JSON.parse(JSON.stringify(errors ?? null));

test('the precompiled (standalone) schema validators report exactly what ajv compiled at run time reports', async () => {
  // Inside the project, so that the module's `ajv/dist/runtime/…` imports resolve to node_modules.
  mkdirSync(join(root, 'test-artifacts'), { recursive: true });
  const dir = mkdtempSync(join(root, 'test-artifacts', 'schema-standalone-'));
  try {
    const file = join(dir, 'validators.mjs');
    writeFileSync(file, standaloneSchemaValidatorsCode());
    const standalone = ((await import(pathToFileURL(file).href)) as { schemaValidators(): SchemaValidators }).schemaValidators();
    const runtime = schemaValidators();
    const docs = documents();
    assert.ok(docs.length > 40, `expected many documents, found ${docs.length}`);
    let invalid = 0;
    for (const [i, doc] of docs.entries()) {
      for (const kind of ['team', 'shards'] as const) {
        const a = runtime[kind](doc);
        const aErrors = comparable(runtime[kind].errors);
        const b = standalone[kind](doc);
        assert.equal(b, a, `document ${i} as ${kind}: valid?`);
        assert.deepEqual(comparable(standalone[kind].errors), aErrors, `document ${i} as ${kind}: errors`);
        if (!a) invalid++;
      }
    }
    assert.ok(invalid > 20, 'the documents include invalid ones');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
