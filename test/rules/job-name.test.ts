import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertDocExamples, assertFinding, teamFindings, team } from './helpers.ts';

test('job-name: docs examples', () => {
  assertDocExamples('job-name', [{ line: 5, column: 11, includes: 'job name "dhcp servers/nyc3" holds a space at character 5' }]);
});

test('job-name: refused characters are named with their position, and the hint gives an accepted name', () => {
  const cases: [string, string, string][] = [
    ['"-dhcp"', 'starts with "-"', '"_dhcp"'],
    ['"dhcp\\u202Eprod"', 'holds U+202E RIGHT-TO-LEFT OVERRIDE (a bidi control: it reorders how the text reads) at character 5', '"dhcp_prod"'],
    ['"dhcp\\nremote_write"', 'holds U+000A LINE FEED (a line break) at character 5', '"dhcp_remote_write"'],
    ['"dhcp#1"', 'holds "#" at character 5', '"dhcp_1"'],
    ['"dhcp\'s"', 'holds "\'" at character 5', '"dhcp_s"'],
  ];
  for (const [name, problem, hint] of cases) {
    const [f, ...rest] = teamFindings('job-name', team(`  - name: ${name}\n    targets: ["a.internal:9100"]\n`));
    assertFinding(f, { ruleId: 'job-name', line: 4, column: 11, includes: problem });
    assert.equal(f.hint, `write ${hint}`);
    assert.equal(rest.length, 0);
  }
});

test('job-name: ordinary names pass', () => {
  for (const name of ['node', 'node_exporter', 'blackbox-http.nyc3', 'federate:prod', '1st', '_x']) {
    assert.deepEqual(teamFindings('job-name', team(`  - name: "${name}"\n    targets: ["a.internal:9100"]\n`)), [], name);
  }
});
