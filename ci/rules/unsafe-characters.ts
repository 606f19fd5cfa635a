// unsafe-characters: no string of a team file or shards.yaml — key or value, anywhere — holds a
// control character (CR, NEL, the line and paragraph separators among them), an invisible formatting
// character or a Unicode bidi control. Such strings are echoed into the rendered configuration, the
// CLI, the dashboard and alerts: a line break is a way out of a YAML scalar or comment for some parser,
// and U+202E makes a name read as another. Free text (`description`) may hold LF and TAB.
import type { Rule } from '../../core/compiler/rule.ts';
import type { PathSegment } from '../../core/repository/parse-yaml-file.ts';
import { describeCharacter, firstUnsafeCharacter } from '../../core/text/unsafe-characters.ts';
import { quote } from './format.ts';

const FREE_TEXT_KEYS = new Set(['description']);

export function describePath(path: readonly PathSegment[]): string {
  let out = '';
  for (const seg of path) out += typeof seg === 'number' ? `[${seg}]` : /^[A-Za-z_][A-Za-z0-9_]*$/.test(seg) ? `${out ? '.' : ''}${seg}` : `[${quote(seg)}]`;
  return out || 'the document';
}

export const unsafeCharacters: Rule = {
  id: 'unsafe-characters',
  severity: 'error',
  summary: 'A key or value holding a control, line-break, invisible or bidi character (CR, NEL, U+2028, U+202E...).',
  scope: 'file',
  check(ctx) {
    const files = [...(ctx.repo.shardsFile ? [ctx.repo.shardsFile] : []), ...ctx.repo.teamFiles];
    for (const file of files) {
      // Alias-expanded data may share (or, with a recursive alias, contain) the same object twice.
      const seen = new WeakSet<object>();
      const visit = (value: unknown, path: PathSegment[], freeText: boolean) => {
        if (typeof value === 'string') {
          const bad = firstUnsafeCharacter(value, freeText);
          if (bad) {
            ctx.report({
              file: file.path,
              path,
              message: `the value of ${describePath(path)} holds ${describeCharacter(bad.codePoint)} at character ${bad.position}`,
              hint: freeText ? 'remove it: free text may hold line breaks (LF) and tabs, no other control, invisible or bidi character' : 'remove it: values may not hold control, line-break, invisible or bidi characters',
            });
          }
          return;
        }
        if (typeof value !== 'object' || value === null || seen.has(value)) return;
        seen.add(value);
        if (Array.isArray(value)) {
          value.forEach((v, i) => visit(v, [...path, i], false));
          return;
        }
        for (const [k, v] of Object.entries(value)) {
          const bad = firstUnsafeCharacter(k);
          if (bad) {
            ctx.report({
              file: file.path,
              path: [...path, k],
              onKey: true,
              message: `the key ${quote(k)} in ${describePath(path)} holds ${describeCharacter(bad.codePoint)} at character ${bad.position}`,
              hint: 'remove it: keys may not hold control, line-break, invisible or bidi characters',
            });
          }
          visit(v, [...path, k], FREE_TEXT_KEYS.has(k));
        }
      };
      visit(file.data, [], false);
    }
  },
};
