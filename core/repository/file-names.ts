// The names a configuration repository may use for team folders and team files. A path travels into
// rendered comments, findings, the dashboard and the agents' cardinality flags, so it is held to a
// small character set instead of being escaped everywhere: letters, digits, ".", "_" and "-".
// Shared by the file-name rule (which reports) and the model builder (which leaves such a file out).
import { describeCharacter, escapeUnsafeCharacters } from '../text/unsafe-characters.ts';

const NAME_CHARACTER = /[A-Za-z0-9._-]/;
const FOLDER = /^[A-Za-z0-9._-]+$/;
const FILE = /^[A-Za-z0-9._-]+\.ya?ml$/;

export interface FileNameProblem {
  /** The offending segment: the folder or the file name. */
  segment: string;
  kind: 'folder' | 'file';
  reason: string;
  /** A name that would be accepted, for the hint. */
  suggestion: string;
}

function firstBadCharacter(name: string): { cp: number; position: number } | undefined {
  let position = 0;
  for (const ch of name) {
    position++;
    if (!NAME_CHARACTER.test(ch)) return { cp: ch.codePointAt(0)!, position };
  }
  return undefined;
}

function describe(cp: number): string {
  if (cp >= 0x21 && cp <= 0x7e) return `${JSON.stringify(String.fromCodePoint(cp))}`;
  if (cp === 0x20) return 'a space';
  return describeCharacter(cp);
}

function suggest(name: string, file: boolean): string {
  const ext = file ? (/\.ya?ml$/i.exec(name)?.[0].toLowerCase() ?? '.yaml') : '';
  const stem = file ? name.replace(/\.ya?ml$/i, '') : name;
  const cleaned = [...stem].map((c) => (NAME_CHARACTER.test(c) ? c : '_')).join('').replace(/_+/g, '_').replace(/^_(?=.)|_$/g, '') || 'file';
  return cleaned + ext;
}

/** Why a `teams/<folder>/<file>` path is refused; undefined when both names are in the set. */
export function teamFilePathProblem(path: string): FileNameProblem | undefined {
  const parts = path.split('/');
  if (parts.length !== 3 || parts[0] !== 'teams') return undefined; // file-layout's finding
  const [, folder, file] = parts;
  if (!FOLDER.test(folder) || folder === '.' || folder === '..') {
    const bad = firstBadCharacter(folder);
    const reason = bad ? `holds ${describe(bad.cp)} at character ${bad.position}` : 'is not a folder name';
    return { segment: folder, kind: 'folder', reason, suggestion: suggest(folder, false) };
  }
  if (!FILE.test(file)) {
    const bad = firstBadCharacter(file);
    const reason = bad ? `holds ${describe(bad.cp)} at character ${bad.position}` : 'does not end in .yaml or .yml';
    return { segment: file, kind: 'file', reason, suggestion: suggest(file, true) };
  }
  return undefined;
}

export function isAcceptedTeamFilePath(path: string): boolean {
  return teamFilePathProblem(path) === undefined;
}

/** The file-name finding's message and hint for a refused path. */
export function fileNameFinding(p: FileNameProblem): { message: string; hint: string } {
  return {
    message: `${p.kind === 'folder' ? 'team folder' : 'file'} name ${escapeUnsafeCharacters(JSON.stringify(p.segment))} ${p.reason}: names are letters, digits, ".", "_" and "-"${p.kind === 'file' ? ', ending in .yaml or .yml' : ''}; the file is not read`,
    hint: `rename it to ${JSON.stringify(p.suggestion)}`,
  };
}
