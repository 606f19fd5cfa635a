// Applies a flag's fix to a checked-out configuration repository and proves it with the one compiler
// (the same `validate` logic CI runs): the team file is edited in place, the whole repository is
// compiled, and when anything is wrong the file is put back and the fix refused with the findings.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CardinalityFlag } from '../../core/protocol/cardinality-flag.ts';
import { compileRepository } from '../../core/compiler/compile-repository.ts';
import { ALL_RULES } from '../rules/index.ts';
import { readRepositoryFromDirectory } from '../../core/repository/repository-source.ts';
import { teamFilePathProblem } from '../../core/repository/file-names.ts';
import { hasErrors, type Finding } from '../../core/findings/finding.ts';
import { formatText } from '../output/format-findings.ts';
import { escapeUnsafeCharacters } from '../../core/text/unsafe-characters.ts';
import { FixRefused, mergeFixIntoTeamFile, type TeamFileEdit } from '../../core/cardinality-fix/edit-team-file.ts';
import { flagKey } from '../../core/cardinality-fix/flag-key.ts';

export interface PreparedFix {
  /** The team file, relative to the folder holding shards.yaml (as in the flag). */
  file: string;
  before: string;
  after: string;
  edit: TeamFileEdit;
  /** Warnings the compiler reported on the result (errors refuse the fix). */
  findings: Finding[];
}

export class FixRefusedWithFindings extends FixRefused {
  constructor(message: string, readonly findings: Finding[]) {
    super(message);
  }
}

export function prepareFix(configDir: string, flag: CardinalityFlag, where = 'the base revision'): PreparedFix {
  const file = flag.file;
  if (!file) throw new FixRefused(`flag ${escapeUnsafeCharacters(flag.id)}: job "${escapeUnsafeCharacters(flag.job)}" has no owning team file (it is not in the desired document's owners); edit its configuration by hand`);
  const segments = file.split('/');
  if (segments.length !== 3 || segments[0] !== 'teams' || teamFilePathProblem(file)) throw new FixRefused(`flag ${escapeUnsafeCharacters(flag.id)}: ${JSON.stringify(escapeUnsafeCharacters(file))} is not a team file path (teams/<team>/<file>.yaml)`);
  const abs = join(configDir, ...segments);
  if (!existsSync(abs)) throw new FixRefused(`${file}: no such file at ${where} (moved or removed since the flag was raised); nothing was changed`);
  const before = readFileSync(abs, 'utf8');
  const edit = mergeFixIntoTeamFile(before, file, flag.job, flag.fix.rules, `promshard cardinality fix ${flagKey(flag.id)}: ${flag.label} on ${flag.metric}`);
  writeFileSync(abs, edit.text);
  const source = readRepositoryFromDirectory(configDir);
  const compiled = compileRepository(source, { rules: ALL_RULES, withModel: false });
  if (hasErrors(compiled.findings)) {
    writeFileSync(abs, before);
    const errors = compiled.findings.filter((f) => f.severity === 'error');
    const text = formatText(errors, { displayPath: (f) => f, color: false, filesChecked: source.files.length });
    throw new FixRefusedWithFindings(`the fixed repository does not pass validate, so no fix was committed:\n${text.replace(/\n[^\n]*file\(s\) checked[^\n]*\n?$/, '\n')}`, errors);
  }
  return { file, before, after: edit.text, edit, findings: compiled.findings };
}
