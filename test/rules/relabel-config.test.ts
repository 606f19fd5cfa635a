import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertDocExamples, teamFindings, team } from './helpers.ts';

const RULE = 'relabel-config';
const job = (rules: string, list = 'relabel_configs') => team(`  - name: a\n    targets: [n:1]\n    ${list}:\n${rules}`);
const messages = (rules: string, list?: string) => teamFindings(RULE, job(rules, list)).map((f) => f.message.replace(/^\w+\[\d+\] of job "a": /, ''));

test('relabel-config: docs examples', () => {
  assertDocExamples(RULE, [{ line: 8, column: 9, includes: 'labeldrop takes only regex (matched against label names), not source_labels' }]);
});

test('relabel-config: unknown and empty actions', () => {
  assert.deepEqual(messages('      - { source_labels: [x], action: dropp }\n      - { source_labels: [x], action: "" }\n'), [
    'unknown relabel action "dropp" (did you mean "drop"?)',
    'action is empty',
  ]);
});

test('relabel-config: actions are case-insensitive, as in Prometheus', () => {
  assert.deepEqual(messages('      - { source_labels: [x], action: Drop }\n'), []);
});

test('relabel-config: target_label requirements', () => {
  assert.deepEqual(messages('      - { source_labels: [x] }\n      - { source_labels: [x], action: hashmod }\n      - { source_labels: [x], target_label: "a-b" }\n      - { source_labels: [x], target_label: "${1}_x" }\n      - { source_labels: [x], action: hashmod, modulus: 2, target_label: "$1" }\n'), [
    'action replace (the default) requires target_label',
    'action hashmod requires target_label',
    'hashmod requires a modulus greater than 0',
    '"a-b" is not a valid target_label for replace',
    '"$1" is not a valid target_label for hashmod',
  ]);
});

test('relabel-config: fields an action does not take', () => {
  assert.deepEqual(messages('      - { source_labels: [a], target_label: b, action: keepequal, regex: x }\n      - { source_labels: [x], target_label: y, action: lowercase, replacement: z }\n      - { regex: tmp_.*, action: labelkeep, target_label: t }\n      - { regex: "(.*)", action: labelmap, replacement: "a-$1" }\n'), [
    'keepequal takes only source_labels and target_label, not regex',
    'replacement cannot be set for lowercase',
    'labelkeep takes only regex (matched against label names), not target_label',
    '"a-$1" is not a valid replacement for labelmap',
  ]);
});

test('relabel-config: invalid source label names', () => {
  assert.deepEqual(messages('      - { source_labels: [ok, "not-ok"], action: keep }\n'), ['source label "not-ok" is not a valid label name']);
});

test('relabel-config: keep or drop without source_labels is obviously wrong', () => {
  assert.deepEqual(messages('      - { regex: foo, action: drop }\n'), ['drop without source_labels matches regex against an empty string, so it drops everything or nothing']);
});

test('relabel-config: __meta_* in metric_relabel_configs is a warning', () => {
  const f = teamFindings(RULE, job('      - { source_labels: [__meta_kubernetes_pod_name], target_label: pod }\n', 'metric_relabel_configs'));
  assert.equal(f.length, 1);
  assert.equal(f[0].severity, 'warning');
  assert.match(f[0].message, /does not exist after the scrape/);
});

test('relabel-config: valid rules of every action pass', () => {
  assert.deepEqual(
    messages(
      '      - { source_labels: [a], target_label: b }\n      - { source_labels: [a], regex: x, action: keep }\n      - { source_labels: [a], target_label: b, action: keepequal }\n      - { source_labels: [a], target_label: b, action: hashmod, modulus: 4 }\n      - { regex: "__meta_(.+)", action: labelmap }\n      - { regex: tmp_.*, action: labeldrop }\n      - { source_labels: [a], target_label: b, action: uppercase }\n',
    ),
    [],
  );
});
