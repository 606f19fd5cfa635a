// Issue 10, items 1 and 5: text for people (validate's text and GitHub formats, plan's text and
// Markdown) shows control, invisible and bidi characters as visible escapes, so a name holding
// U+202E cannot read as another and a line break cannot forge a finding or a plan line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { formatGithub, formatJson, formatText } from '../../ci/output/format-findings.ts';
import { formatPlanMarkdown, formatPlanText } from '../../ci/plan/format-plan.ts';
import type { Finding } from '../../core/findings/finding.ts';
import { escapeUnsafeCharacters, UNSAFE_CHARACTER } from '../../core/text/unsafe-characters.ts';
import { writeRepository, BASIC_SHARDS_YAML } from '../support/repo-fixture.ts';
import { PROMSHARD_BIN as BIN } from '../support/fleet.ts';

const RAW = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/;
const opts = { displayPath: (f: string) => f, color: false, filesChecked: 1 };
const finding: Finding = {
  ruleId: 'unsafe-characters',
  severity: 'error',
  file: 'teams/netops/gpj.\u202eyaml',
  start: { line: 3, column: 5 },
  end: { line: 3, column: 9 },
  message: 'value "evil\u0085\nteams/x.yaml:1:1: error [fake] forged\u2028" and \u2066isolated\u2069',
  hint: 'remove \u200b it\r',
};

test('escapeUnsafeCharacters: every refused character becomes a visible \\uXXXX; keepNewlines keeps LF and TAB only', () => {
  assert.equal(escapeUnsafeCharacters('a\u202eb\u0085c\u2028d\re\x1bf\x7f'), 'a\\u202eb\\u0085c\\u2028d\\u000de\\u001bf\\u007f');
  assert.equal(escapeUnsafeCharacters('l1\n\tl2\r\u202e', { keepNewlines: true }), 'l1\n\tl2\\u000d\\u202e');
  assert.equal(escapeUnsafeCharacters('Zürich 東京 😀 عربي'), 'Zürich 東京 😀 عربي');
  for (let cp = 0; cp < 0x10000; cp++) {
    const c = String.fromCharCode(cp);
    if (UNSAFE_CHARACTER.test(c)) assert.doesNotMatch(escapeUnsafeCharacters(c), UNSAFE_CHARACTER, `U+${cp.toString(16)}`);
  }
});

test('validate text format: file, message and hint show escapes, one line per finding plus its hint', () => {
  const out = formatText([finding], opts);
  assert.doesNotMatch(out, RAW);
  const lines = out.trimEnd().split('\n');
  assert.equal(lines.length, 3, out);
  assert.equal(lines[0], 'teams/netops/gpj.\\u202eyaml:3:5: error [unsafe-characters] value "evil\\u0085\\u000ateams/x.yaml:1:1: error [fake] forged\\u2028" and \\u2066isolated\\u2069');
  assert.equal(lines[1], '    hint: remove \\u200b it\\u000d');
});

test('validate github format: annotation and summary carry escapes; JSON keeps the exact strings', () => {
  const out = formatGithub([finding], opts);
  assert.doesNotMatch(out, RAW);
  assert.match(out, /^::error file=teams\/netops\/gpj\.\\u202eyaml,line=3,col=5,/m);
  assert.match(out, /::value "evil\\u0085\\u000ateams\/x\.yaml:1:1: error \[fake\] forged\\u2028" and \\u2066isolated\\u2069%0Ahint: remove \\u200b it\\u000d$/m);
  assert.equal(JSON.parse(formatJson([finding], opts)).findings[0].file, finding.file);
});

test('plan text and Markdown: job, team, file and shard names show escapes', () => {
  const plan = {
    unchangedShards: 0,
    shards: [
      {
        shard: 'net\u202eworking', change: 'changed' as const, replicas: 2, targetsBefore: 1, targetsAfter: 2, maxTargets: 10, maxSeries: 10, overBudget: false, hashBefore: null, hashAfter: null,
        jobs: [{ job: 'dhcp\u202e', team: 'net\u2066ops', file: 'teams/netops/a\u0085.yaml', change: 'added' as const, targetsAdded: ['a\u2028:1'], targetsRemoved: [], fieldsChanged: [] }],
      },
    ],
  };
  const extras = { base: 'main', head: 'HEAD', headFindings: [], liveNotes: [{ shard: 'net\u202eworking', severity: 'warning' as const, message: 'note\nforged line' }] };
  for (const out of [formatPlanText(plan as never, extras), formatPlanMarkdown(plan as never, extras)]) {
    assert.doesNotMatch(out, RAW);
    assert.match(out, /dhcp\\u202e/);
    assert.match(out, /note\\u000aforged line/);
  }
});

test('promshard validate (the real CLI) prints a bidi file name escaped', () => {
  const root = writeRepository({ 'shards.yaml': BASIC_SHARDS_YAML, 'teams/netops/lmay.\u202eevil.yaml': 'team: netops\nshard: networking\njobs:\n  - name: a\n    targets: ["a.internal:9100"]\n' });
  try {
    const r = spawnSync('node', [BIN, 'validate', '--repo', root], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
    assert.equal(r.status, 1, r.stderr);
    const out = r.stdout + r.stderr;
    assert.doesNotMatch(out, RAW);
    assert.match(out, /teams\/netops\/lmay\.\\u202eevil\.yaml:1:1: error \[file-name\] file name "lmay\.\\u202eevil\.yaml" holds U\+202E RIGHT-TO-LEFT OVERRIDE/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
