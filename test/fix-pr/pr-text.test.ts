// The PR/MR body on its own: a partial fix says so with its residual, and text that came from the
// fleet (label values) cannot act as Markdown, a mention, or reorder the page with bidi controls.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { codeSpan, fixBody, fixCommitMessage, FIX_MARKER_PREFIX } from '../../core/cardinality-fix/pr-text.ts';
import { flagKey } from '../../core/cardinality-fix/flag-key.ts';
import { makeFlag } from './helpers.ts';

test('a partial fix says partial, with the values left; hostile values stay inert', async () => {
  const flag = await makeFlag({
    job: 'checkout-api',
    metric: 'checkout_http_requests_total',
    label: 'path',
    file: 'teams/payments/checkout.yaml',
    values: Array.from({ length: 200 }, (_, i) => `/api/orders/${48213 + i}`),
    examples: ['/a\u2066@everyone\u2069', '/b\n# heading', '/c```\n<script>x</script>'],
  });
  flag.fix = { ...flag.fix, complete: false, residualValues: 120, residualExamples: ['/x/\u202Eabc', '/y/```'] };
  const body = fixBody({ flag, edit: { text: '', added: flag.fix.rules, kept: 2, jobLine: 9 }, gitPath: 'scrape-configs/teams/payments/checkout.yaml', mentions: ['@acme/payments'] });
  assert.ok(body.startsWith(`${FIX_MARKER_PREFIX}${flagKey(flag.id)} -->\n`));
  assert.match(body, /\*\*Partial fix\*\*: 120 distinct values of `path` would remain/);
  assert.match(body, /after the team's own 2 rules \(kept unchanged and in order\)/);
  assert.match(body, /@acme\/payments: team `payments` owns `scrape-configs\/teams\/payments\/checkout\.yaml`; please review/);
  assert.match(body, /CODEOWNERS maps `scrape-configs\/teams\/payments\/`/);
  for (const raw of ['\u2066', '\u2069', '\u202E', '\n# heading', '\n<script>']) assert.ok(!body.includes(raw), `raw ${JSON.stringify(raw)} is not in the body`);
  for (const shown of ['/a\\u2066@everyone\\u2069', '/b\\u000a# heading', '/x/\\u202eabc']) assert.ok(body.includes(shown), `${shown} shown escaped`);
  // A value holding ``` sits in a longer fence, so it cannot end the block and start Markdown.
  assert.match(body, /\n````\n\/a\\u2066@everyone\\u2069\n\/b\\u000a# heading\n\/c```\\u000a<script>x<\/script>\n````\n/);
  assert.ok(!fixCommitMessage(flag, { text: '', added: flag.fix.rules, kept: 2, jobLine: 9 }).includes('\u202E'));
});

test('code spans hold backticks without closing early', () => {
  assert.equal(codeSpan('a`b'), '`` a`b ``');
  assert.equal(codeSpan('plain'), '`plain`');
  assert.equal(codeSpan('\u202Ex'), '`\\u202ex`');
});
