import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertDocExamples, teamFindings, team } from './helpers.ts';
import { re2Error } from '../../ci/rules/relabel-regex.ts';

test('relabel-regex: docs examples', () => {
  assertDocExamples('relabel-regex', [{ line: 9, column: 16, includes: 'is not valid RE2: error parsing regexp: invalid or unsupported Perl syntax: `(?!`' }]);
});

test('relabel-regex: RE2 errors as Go prints them', () => {
  assert.equal(re2Error('(a)\\1'), 'error parsing regexp: invalid escape sequence: `\\1`');
  assert.equal(re2Error('(?=x)'), 'error parsing regexp: invalid or unsupported Perl syntax: `(?=`');
  assert.equal(re2Error('(?<name>x)'), 'error parsing regexp: invalid or unsupported Perl syntax: `(?<`');
  assert.equal(re2Error('x{1001}'), 'error parsing regexp: invalid repeat count: `{1001}`');
  for (const ok of ['(.*)', 'go_gc_.*|process_.*', '(?P<n>x)', '(?i)abc', '\\d+', '[[:alpha:]]+']) assert.equal(re2Error(ok), null, ok);
});

test('relabel-regex: the hint explains backreferences', () => {
  const f = teamFindings('relabel-regex', team('  - name: a\n    targets: [n:1]\n    relabel_configs:\n      - { source_labels: [a, b], regex: "(.*);\\\\1", action: drop }\n'));
  assert.equal(f.length, 1);
  assert.match(f[0].hint ?? '', /no backreferences/);
});
