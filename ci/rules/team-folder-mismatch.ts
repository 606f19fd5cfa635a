// team-folder-mismatch: `team:` must equal the folder under teams/. The folder is what CODEOWNERS
// protects and the team label is what alerts route on; if they differ, one team could write jobs that
// are labelled (and paged) as another's.
import type { Rule } from '../../core/compiler/rule.ts';
import { isRecord } from './walk.ts';
import { quote } from './format.ts';

export const teamFolderMismatch: Rule = {
  id: 'team-folder-mismatch',
  severity: 'error',
  summary: "A team file's team: differs from the folder it lives in (teams/<team>/).",
  scope: 'file',
  check(ctx) {
    for (const file of ctx.repo.teamFiles) {
      if (!isRecord(file.data) || typeof file.data.team !== 'string' || file.teamFolder === undefined) continue;
      const team = file.data.team;
      if (team === file.teamFolder) continue;
      const name = file.path.split('/').pop();
      ctx.report({
        file: file.path,
        path: ['team'],
        message: `team ${quote(team)} does not match the folder teams/${file.teamFolder}/`,
        hint: `write team: ${file.teamFolder}, or move the file to teams/${team}/${name}`,
      });
    }
  },
};
