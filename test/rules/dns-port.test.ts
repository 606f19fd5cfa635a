import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertDocExamples, teamFindings, team } from './helpers.ts';

test('dns-port: docs examples', () => {
  assertDocExamples('dns-port', [{ line: 9, column: 15, includes: 'job "dhcp" discovers A records without a port' }]);
});

test('dns-port: SRV (the default) needs no port, and a port there is a warning', () => {
  assert.deepEqual(teamFindings('dns-port', team('  - name: a\n    discovery: { dns: { names: [_x._tcp.example.org] } }\n')), []);
  const f = teamFindings('dns-port', team('  - name: a\n    discovery: { dns: { names: [_x._tcp.example.org], port: 9100 } }\n'));
  assert.equal(f.length, 1);
  assert.equal(f[0].severity, 'warning');
  assert.match(f[0].message, /SRV records \(the default type\)/);
});
