// What the demo needs from the machine: a Prometheus binary (required), promtool (optional), git.
import { execFileSync } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';

export interface Prerequisites {
  prometheus: string;
  promtool: string | null;
}

export class MissingPrerequisite extends Error {}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(name: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, name);
    if (existsSync(p) && executable(p)) return p;
  }
  return null;
}

const INSTALL_HINT = `Install it and run the demo again:
  Debian/Ubuntu:  sudo apt-get update && sudo apt-get install -y prometheus
                  (installs /usr/bin/prometheus and /usr/bin/promtool; no service needs to run)
  elsewhere:      download a release from https://prometheus.io/download/ and pass
                  --prometheus /path/to/prometheus (or set PROMETHEUS_BIN)`;

/**
 * Finds Prometheus: --prometheus, else $PROMETHEUS_BIN, else `prometheus` on PATH, else
 * /usr/bin/prometheus. An explicit path that does not exist is an error (never silently replaced).
 */
export function findPrerequisites(explicit?: { prometheus?: string; promtool?: string }): Prerequisites {
  const given = explicit?.prometheus ?? process.env.PROMETHEUS_BIN;
  let prometheus: string | null;
  if (given) {
    if (!existsSync(given) || !executable(given)) {
      const source = explicit?.prometheus ? '--prometheus' : 'PROMETHEUS_BIN';
      throw new MissingPrerequisite(`promshard demo runs real Prometheus servers, but there is no executable Prometheus at ${given} (from ${source}).\n${INSTALL_HINT}`);
    }
    prometheus = given;
  } else {
    prometheus = onPath('prometheus') ?? (executable('/usr/bin/prometheus') ? '/usr/bin/prometheus' : null);
    if (!prometheus) throw new MissingPrerequisite(`promshard demo runs real Prometheus servers, but \`prometheus\` is not installed (not on PATH, not at /usr/bin/prometheus).\n${INSTALL_HINT}`);
  }
  const promtoolGiven = explicit?.promtool ?? process.env.PROMTOOL_BIN;
  const promtool = promtoolGiven ? (executable(promtoolGiven) ? promtoolGiven : null) : (onPath('promtool') ?? (executable('/usr/bin/promtool') ? '/usr/bin/promtool' : null));
  try {
    execFileSync('git', ['--version'], { stdio: 'ignore' });
  } catch {
    throw new MissingPrerequisite('promshard demo needs git (the configuration is a git repository).\n  Debian/Ubuntu:  sudo apt-get install -y git');
  }
  return { prometheus, promtool };
}
