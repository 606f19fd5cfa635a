// Ids raised by the loader itself, before any rule runs: the file could not be read or parsed.
import { loaderRule } from '../../core/compiler/rule.ts';

export const fileUnreadable = loaderRule(
  'file-unreadable',
  'A file that cannot be accepted: too large, binary, not UTF-8, a symbolic link leaving the repository, or in the wrong place.',
);
export const yamlSyntax = loaderRule('yaml-syntax', 'A YAML error: bad syntax, a duplicate key, several documents, or alias expansion past the limit (a "billion laughs" file).');
export const fileLayout = loaderRule('file-layout', 'A file in the wrong place (team files live in teams/<team>/), or shards.yaml missing.');
