// no-inline-secrets: a secret written into the repository (password, bearer_token, credentials, key,
// …; the list is secret-keys.ts) — at any depth of any file, including under basic_auth,
// authorization and tls. Everything in the repository is readable by every team and kept in git
// history forever, and it is copied into the rendered prometheus.yml. Secrets live in files on the
// Prometheus hosts and are referenced with the *_file keys. The finding never repeats the value.
// Label sets (labels, external_labels) and params are not searched: their keys are label and query
// parameter names, not configuration keys.
import type { Rule } from '../../core/compiler/rule.ts';
import type { PathSegment } from '../../core/repository/parse-yaml-file.ts';
import { INLINE_SECRET_KEYS } from './secret-keys.ts';
import { isRecord } from './walk.ts';
import { describePath } from '../../core/compiler/schema-validator.ts';

const NOT_CONFIG_KEYS = new Set(['labels', 'external_labels', 'params']);

function fileKeyHint(key: string, parent: PathSegment | undefined): string {
  const fileKey = INLINE_SECRET_KEYS[key];
  if (fileKey.includes('.') || fileKey.includes(' ')) return fileKey;
  if (['ca', 'cert', 'key'].includes(key)) return `tls.${fileKey}`;
  if (key === 'password') return `basic_auth.${fileKey}`;
  if (key === 'credentials') return `authorization.${fileKey}`;
  return typeof parent === 'string' ? `${parent}.${fileKey}` : fileKey;
}

export const noInlineSecrets: Rule = {
  id: 'no-inline-secrets',
  severity: 'error',
  summary: 'A secret (password, bearer_token, credentials, key, …) written inline instead of referenced with a *_file key.',
  scope: 'file',
  check(ctx) {
    // `path` is one mutable stack, copied only when reporting: this walks every node of every file.
    const path: PathSegment[] = [];
    const visit = (file: string, node: unknown) => {
      if (path.length > 64) return;
      if (Array.isArray(node)) {
        for (let i = 0; i < node.length; i++) {
          const v = node[i];
          if (typeof v !== 'object' || v === null) continue;
          path.push(i);
          visit(file, v);
          path.pop();
        }
        return;
      }
      if (!isRecord(node)) return;
      for (const k in node) {
        const v = node[k];
        if (Object.prototype.hasOwnProperty.call(INLINE_SECRET_KEYS, k)) {
          const parent = path.length ? path[path.length - 1] : undefined;
          const fileKey = fileKeyHint(k, parent);
          ctx.report({
            file,
            path: [...path, k],
            onKey: true,
            message: `inline secret "${k}" in ${describePath(path)}: secrets must not be written into the repository`,
            hint: `put the secret in a file on the Prometheus hosts and reference it with ${fileKey}; then rotate it, since it is in git history`,
          });
          continue;
        }
        if (NOT_CONFIG_KEYS.has(k)) continue;
        if (typeof v === 'object' && v !== null) {
          path.push(k);
          visit(file, v);
          path.pop();
        }
      }
    };
    for (const file of [ctx.repo.shardsFile, ...ctx.repo.teamFiles]) if (file) visit(file.path, file.data);
  },
};
