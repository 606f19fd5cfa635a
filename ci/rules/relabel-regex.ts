// relabel-regex: a relabel regex that RE2 (Go's regexp, which Prometheus uses) cannot compile.
// Prometheus anchors every relabel regex as ^(?:regex)$ and refuses the whole configuration on an
// error; JavaScript-style features such as lookarounds (?=…) and backreferences \1 are the usual
// cause. The message quotes RE2's own error, exactly as Prometheus would print it.
import { compileRelabelRegex } from '../../core/relabel/relabel-re2.ts';
import type { Rule } from '../../core/compiler/rule.ts';
import { forEachRelabelRule } from './relabel-walk.ts';
import { quote } from './format.ts';

const cache = new Map<string, string | null>();

/** RE2's error for a relabel regex as Prometheus anchors it, or null when it compiles. Cached per process. */
export function re2Error(regex: string): string | null {
  let err = cache.get(regex);
  if (err === undefined) {
    err = null;
    // Go before 1.22 (Prometheus 2.42 is built with Go 1.19/1.20) refuses (?<name>…); re2js accepts it.
    const named = /\(\?<(?![=!])/.exec(regex);
    if (named) err = 'error parsing regexp: invalid or unsupported Perl syntax: `(?<`';
    else {
      try {
        compileRelabelRegex(regex);
      } catch (e) {
        err = (e as Error).message;
      }
    }
    if (cache.size > 10_000) cache.clear();
    cache.set(regex, err);
  }
  return err;
}

function hintFor(error: string): string {
  if (error.includes('`(?<`')) return 'write named groups as (?P<name>...)';
  if (/`\(\?[=!<]/.test(error)) return 'RE2 has no lookahead or lookbehind; match the wanted values directly, or use a separate keep/drop rule';
  if (/`\\[1-9]/.test(error)) return 'RE2 has no backreferences; use keepequal/dropequal to compare labels, or match the values explicitly';
  return 'Prometheus uses Go RE2 syntax and anchors the regex as ^(?:regex)$; see https://github.com/google/re2/wiki/Syntax';
}

export const relabelRegex: Rule = {
  id: 'relabel-regex',
  severity: 'error',
  summary: 'A relabel regex that RE2 cannot compile (as Prometheus anchors it: ^(?:regex)$), such as a lookahead or a backreference.',
  scope: 'file',
  check(ctx) {
    forEachRelabelRule(ctx.repo, ({ file, owner, list, index, rule, path }) => {
      if (typeof rule.regex !== 'string') return;
      const error = re2Error(rule.regex);
      if (error === null) return;
      ctx.report({
        file: file.path,
        path: [...path, 'regex'],
        message: `${list}[${index}] of ${owner}: regex ${quote(rule.regex)} is not valid RE2: ${error}`,
        hint: hintFor(error),
      });
    });
  },
};
