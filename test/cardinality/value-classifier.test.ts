import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyValue, classifySample, idSegments, truncateExample } from '../../shard-agent/cardinality/value-classifier.ts';
import { labelPrior, nameTokens } from '../../shard-agent/cardinality/label-priors.ts';
import { fakeUuid } from '../support/exporters.ts';

const cases: [string, string | null][] = [
  // identifiers
  ['3f2b8c1e-9d4a-4c7e-a1b2-0123456789ab', 'uuid'],
  ['3F2B8C1E-9D4A-4C7E-A1B2-0123456789AB', 'uuid'],
  ['01ARZ3NDEKTSV4RRFFQ69G5FAV', 'ulid'],
  ['9fceb02d0ae598e95dc970b74767f19372d61af8', 'hex'],
  ['0x1a2b3c4d5e6f7a8b', 'hex'],
  ['e3b0c44298fc1c149afbf4c8996fb924', 'hex'],
  ['48213', 'numeric-id'],
  ['1234567890123456789012', 'numeric-id'],
  ['1700000000', 'timestamp'],
  ['1700000000123', 'timestamp'],
  ['2024-05-01T12:30:00Z', 'timestamp'],
  ['2024-05-01 12:30:00.123+02:00', 'timestamp'],
  ['2024-05-01', 'timestamp'],
  ['alice@example.com', 'email'],
  ['/api/v1/users/12345', 'url-path-id'],
  ['/orders/3f2b8c1e-9d4a-4c7e-a1b2-0123456789ab/items', 'url-path-id'],
  ['https://shop.example.com/cart/998877?x=1', 'url-path-id'],
  ['10.1.2.3', 'ip'],
  ['10.1.2.3:9100', 'ip'],
  ['fe80::1ff:fe23:4567:890a', 'ip'],
  ['x'.repeat(80), 'long-string'],
  // ordinary values: must not match
  ['', null],
  ['200', null],
  ['0.005', null],
  ['+Inf', null],
  ['9100', null],
  ['GET', null],
  ['/api/v1/users/:id', null],
  ['/api/v2/items', null],
  ['/healthz', null],
  ['web-001', null],
  ['hv1.nyc3.internal:9100', null],
  ['deadbeefcafe', null], // hex letters only: a word, not an id
  ['node_exporter', null],
  ['v1.2.3', null],
  ['us-east-1', null],
  ['x'.repeat(64), null],
];

for (const [value, want] of cases) {
  test(`classifyValue(${JSON.stringify(value.length > 40 ? value.slice(0, 20) + '…' : value)}) = ${want}`, () => {
    assert.equal(classifyValue(value), want);
  });
}

test('fake UUIDs from the test exporters classify as uuid', () => {
  for (let i = 0; i < 500; i++) assert.equal(classifyValue(fakeUuid(i)), 'uuid', fakeUuid(i));
  assert.equal(new Set(Array.from({ length: 5000 }, (_, i) => fakeUuid(i))).size, 5000);
});

test('idSegments counts identifier segments of paths only', () => {
  assert.equal(idSegments('/users/12/orders/7'), 2);
  assert.equal(idSegments('/users/:id/orders/:id'), 0);
  assert.equal(idSegments('users/12'), 0);
});

test('classifySample reports the dominant pattern, its share and the id share', () => {
  const s = classifySample(['3f2b8c1e-9d4a-4c7e-a1b2-0123456789ab', '4f2b8c1e-9d4a-4c7e-a1b2-0123456789ab', '12345', 'GET']);
  assert.equal(s.pattern, 'uuid');
  assert.equal(s.share, 0.5);
  assert.equal(s.idShare, 0.75);
  const h = classifySample(['web-001', 'web-002', 'web-003']);
  assert.equal(h.pattern, null);
  assert.equal(h.idShare, 0);
  assert.equal(classifySample(['/a/1/b/2', '/a/3']).maxIdSegments, 2);
});

test('truncateExample keeps at most 64 characters', () => {
  assert.equal(truncateExample('short'), 'short');
  const t = truncateExample('y'.repeat(200));
  assert.equal(t.length, 64);
  assert.ok(t.endsWith('…'));
});

const priors: [string, 'id-like' | 'bounded' | 'neutral'][] = [
  ['request_id', 'id-like'],
  ['trace_id', 'id-like'],
  ['session', 'id-like'],
  ['ci_run', 'id-like'],
  ['build_number', 'id-like'],
  ['url', 'id-like'],
  ['path', 'id-like'],
  ['error_message', 'id-like'],
  ['user', 'id-like'],
  ['email', 'id-like'],
  ['userId', 'id-like'],
  ['client_ip', 'id-like'],
  ['le', 'bounded'],
  ['quantile', 'bounded'],
  ['code', 'bounded'],
  ['status', 'bounded'],
  ['status_code', 'bounded'],
  ['method', 'bounded'],
  ['handler', 'bounded'],
  ['instance', 'bounded'],
  ['job', 'bounded'],
  ['host', 'neutral'],
  ['datacenter', 'neutral'],
  ['rack', 'neutral'],
  ['pod', 'neutral'],
  ['idle_mode', 'neutral'],
];
for (const [name, want] of priors) {
  test(`labelPrior(${name}) = ${want}`, () => assert.equal(labelPrior(name), want));
}

test('nameTokens splits snake, kebab and camel case', () => {
  assert.deepEqual(nameTokens('requestId'), ['request', 'id']);
  assert.deepEqual(nameTokens('ci_run-number'), ['ci', 'run', 'number']);
});
