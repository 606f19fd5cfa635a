// What Prometheus's relabelling accepts, in one place for the CI rules and the agent's fix
// suggestions: its actions, and its regexes, which it anchors at both ends and compiles with Go's RE2.
import { RE2JS } from 're2js';

export const RELABEL_ACTIONS = ['replace', 'keep', 'drop', 'keepequal', 'dropequal', 'hashmod', 'labelmap', 'labeldrop', 'labelkeep', 'lowercase', 'uppercase'] as const;

export function isRelabelAction(action: string): boolean {
  return (RELABEL_ACTIONS as readonly string[]).includes(action);
}

/** A relabel regex as Prometheus runs it: anchored, RE2 syntax. Throws on what RE2 refuses. */
export function compileRelabelRegex(regex: string): RE2JS {
  return RE2JS.compile(`^(?:${regex})$`);
}
