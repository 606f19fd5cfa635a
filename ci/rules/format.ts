// Small helpers shared by the rules' messages: quoting untrusted values (truncated, so a 1 MiB string
// never lands in a finding), and naming another place in the repository as `file:line:col`.
import { YamlLocator, type PathSegment } from '../../core/repository/parse-yaml-file.ts';
import { escapeUnsafeCharacters } from '../../core/text/unsafe-characters.ts';
import type { ParsedFile } from '../../core/compiler/rule.ts';

export const MAX_QUOTED = 60;

/** A value quoted for a message: JSON-escaped and cut at MAX_QUOTED characters. */
export function quote(value: unknown, max = MAX_QUOTED): string {
  const s = typeof value === 'string' ? value : JSON.stringify(value) ?? String(value);
  // JSON escapes C0 controls; bidi, C1 and invisible characters are made visible too, so a quoted
  // name cannot reorder or hide part of the message it is shown in.
  return escapeUnsafeCharacters(JSON.stringify(s.length > max ? s.slice(0, max) + '…' : s));
}

const locators = new WeakMap<ParsedFile, YamlLocator>();

/**
 * `file:line:col` of a path, for messages that name a second place (the first definition of a
 * duplicate). Parses the file positionally only when asked, and only once per file.
 */
export function placeOf(file: ParsedFile, path: readonly PathSegment[], onKey = false): string {
  let loc = locators.get(file);
  if (!loc) locators.set(file, (loc = new YamlLocator(file.text)));
  const { start } = loc.locate(path, onKey);
  return `${file.path}:${start.line}:${start.column}`;
}
