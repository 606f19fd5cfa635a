// docs/rules.md documents every rule, and its examples are executed: the failing example must print
// exactly what the page shows, and the fixed example must be clean.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ALL_RULES } from '../../ci/rules/index.ts';
import { readRulesDoc, failingExample, fixedExample } from './docs-examples.ts';

const doc = readRulesDoc();

test('every rule id has a section with severity, a failing example, its finding and a fixed example', () => {
  for (const rule of ALL_RULES) {
    const s = doc.sections.get(rule.id);
    assert.ok(s, `docs/rules.md lacks "## ${rule.id}"`);
    assert.equal(s.severity, rule.severity, `${rule.id}: documented severity`);
    assert.ok(s.blocks.some((b) => b.tags.includes('fails')), `${rule.id}: no \`\`\`yaml fails block`);
    assert.ok(s.blocks.some((b) => b.tags.includes('fixed')), `${rule.id}: no \`\`\`yaml fixed block`);
    const finding = s.blocks.find((b) => b.tags.includes('finding'));
    assert.ok(finding, `${rule.id}: no \`\`\`text finding block`);
    assert.match(finding.text, new RegExp(`^\\S+:\\d+:\\d+: (error|warning) \\[${rule.id}\\] `, 'm'), `${rule.id}: the finding block shows no ${rule.id} line`);
  }
});

test('the table at the top lists every rule id with its severity, and no other', () => {
  const rows = [...doc.text.matchAll(/^\| \[([a-z0-9-]+)\]\(#\1\) \| (\w+)/gm)].map((m) => [m[1], m[2]]);
  assert.deepEqual(rows.map((r) => r[0]).sort(), ALL_RULES.map((r) => r.id).sort());
  for (const [id, severity] of rows) assert.equal(severity, ALL_RULES.find((r) => r.id === id)!.severity, id);
});

test('no section documents a rule that does not exist', () => {
  const ids = new Set(ALL_RULES.map((r) => r.id));
  for (const id of doc.sections.keys()) if (/^[a-z0-9-]+$/.test(id)) assert.ok(ids.has(id), `docs/rules.md documents unknown rule "${id}"`);
});

test('the base shards.yaml of the examples is valid on its own', () => {
  assert.ok(doc.base['shards.yaml'], 'no ```yaml base block naming shards.yaml');
});

for (const rule of ALL_RULES) {
  test(`${rule.id}: the failing example prints exactly the documented finding(s)`, (t) => {
    const ex = failingExample(rule.id);
    if (!ex.runnable) {
      t.diagnostic('example is not YAML text (covered by hostile-input.test.ts)');
      return;
    }
    assert.equal(ex.output, ex.expected);
    assert.ok(ex.compilation.findings.some((f) => f.ruleId === rule.id), `no ${rule.id} finding`);
  });
  test(`${rule.id}: the fixed example has no finding at all`, () => {
    const ex = fixedExample(rule.id);
    assert.ok(ex.runnable, 'the fixed example must be runnable YAML');
    assert.equal(ex.output, '');
    assert.equal(ex.compilation.valid, true);
  });
}
