import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileFiles, BASIC_SHARDS_YAML } from '../support/repo-fixture.ts';
import { assertDocExamples, findingsOf, assertFinding, teamFindings, team } from './helpers.ts';

test('unsafe-characters: docs examples', () => {
  assertDocExamples('unsafe-characters', [
    { line: 9, column: 14, includes: 'the value of jobs[0].labels.owner holds U+202E RIGHT-TO-LEFT OVERRIDE' },
    { line: 10, column: 12, includes: 'the value of jobs[0].labels.env holds U+2028 LINE SEPARATOR (a line break) at character 5' },
  ]);
});

test('unsafe-characters: every class is refused wherever the string is, with its line:col', () => {
  const refused: [string, string][] = [
    ['\\r', 'U+000D CARRIAGE RETURN (a line break)'],
    ['\\n', 'U+000A LINE FEED (a line break)'],
    ['\\t', 'U+0009 TAB (a control character)'],
    ['\\x1b', 'U+001B (a control character)'],
    ['\\x7f', 'U+007F DELETE (a control character)'],
    ['\\N', 'U+0085 NEXT LINE (NEL) (a line break)'],
    ['\\x9b', 'U+009B (a C1 control character)'],
    ['\\L', 'U+2028 LINE SEPARATOR (a line break)'],
    ['\\P', 'U+2029 PARAGRAPH SEPARATOR (a line break)'],
    ['\\u061C', 'U+061C ARABIC LETTER MARK (a bidi control'],
    ['\\u200E', 'U+200E LEFT-TO-RIGHT MARK (a bidi control'],
    ['\\u200F', 'U+200F RIGHT-TO-LEFT MARK (a bidi control'],
    ['\\u202A', 'U+202A LEFT-TO-RIGHT EMBEDDING (a bidi control'],
    ['\\u202E', 'U+202E RIGHT-TO-LEFT OVERRIDE (a bidi control'],
    ['\\u2066', 'U+2066 LEFT-TO-RIGHT ISOLATE (a bidi control'],
    ['\\u2069', 'U+2069 POP DIRECTIONAL ISOLATE (a bidi control'],
    ['\\u200B', 'U+200B ZERO WIDTH SPACE (an invisible formatting character)'],
    ['\\uFEFF', 'U+FEFF BYTE ORDER MARK'],
    ['\\uD800', 'U+D800 (a lone surrogate'],
  ];
  for (const [escape, what] of refused) {
    const f = teamFindings('unsafe-characters', team(`  - name: a\n    targets: ["a.internal:9100"]\n    metrics_path: "/m${escape}x"\n`));
    assert.equal(f.length, 1, escape);
    assertFinding(f[0], { ruleId: 'unsafe-characters', line: 6, column: 19, includes: [`the value of jobs[0].metrics_path holds ${what}`, 'at character 3'] });
  }
});

test('unsafe-characters: keys, list items, nested values and shards.yaml are walked; descriptions may hold LF and TAB', () => {
  const text = team(`  - name: a\n    description: "line one\\n\\tline two"\n    targets: ["a.internal:9100", "b\\u2029.internal:9100"]\n    labels: { "k\\u202Ey": v }\n    params: { module: ["x", "y\\u0085"] }\n    relabel_configs:\n      - { source_labels: [__address__], regex: "(.*)\\r", target_label: host, replacement: "$1" }\n`);
  const f = teamFindings('unsafe-characters', text);
  assert.deepEqual(
    f.map((x) => `${x.start.line}:${x.start.column} ${x.message.split(' holds ')[0]}`),
    ['6:34 the value of jobs[0].targets[1]', '7:15 the key "k\\u202ey" in jobs[0].labels', '8:29 the value of jobs[0].params.module[1]', '10:48 the value of jobs[0].relabel_configs[0].regex'],
  );
  const shards = BASIC_SHARDS_YAML.replace('external_labels: { shard: networking }', 'external_labels: { shard: "net\\u2066working" }');
  const c = compileFiles({ 'shards.yaml': shards });
  assertFinding(findingsOf(c, 'unsafe-characters')[0], { ruleId: 'unsafe-characters', file: 'shards.yaml', line: 10, column: 31, includes: 'the value of shards[0].external_labels.shard holds U+2066' });
  const desc = teamFindings('unsafe-characters', team('  - name: a\n    description: "a\\u202Eb"\n    targets: ["a.internal:9100"]\n'));
  assert.equal(desc.length, 1, 'descriptions still refuse bidi controls');
});

test('unsafe-characters: YAML-significant and non-ASCII printable characters are legitimate', () => {
  const f = teamFindings('unsafe-characters', team(`  - name: a\n    targets: ["a.internal:9100"]\n    labels: { url: "https://x.example/a?b=c&d=%20#frag", note: "a: b # c 'q' \\"dq\\" {x} [y] *z &w !t @u \`v\` ~ ---", city: "Zürich 東京 😀 עברית" }\n`));
  assert.deepEqual(f, []);
});

test('unsafe-characters: a recursive alias does not make the walk loop', () => {
  const f = teamFindings('unsafe-characters', 'team: netops\nshard: networking\nx: &a [*a, "\\u202E"]\njobs:\n  - name: a\n    targets: ["a.internal:9100"]\n');
  assert.ok(f.length <= 1);
});
