// `promshard agent-token`: prints the credential of one agent (derived from the controller's
// --agent-secret-file), or the admin-token digest an agent is given to recognise the admin.
import { adminTokenDigest, AGENT_NAME, deriveAgentToken } from '../core/http/agent-credential.ts';
import { readTokenFile } from '../core/http/auth.ts';
import { parseFlags, UsageError } from './args.ts';
import { parseSplitIndex } from '../core/document/split-name.ts';

const USAGE = `usage: promshard agent-token --shard NAME [--split I] --replica NAME --secret-file FILE
       promshard agent-token --admin-digest --token-file FILE

  --shard NAME          shard of the agent
  --split I             split of the agent within a split shard (0 .. split-1); the credential is
                        then good for that split only
  --replica NAME        replica of the agent within the shard (or split)
  --secret-file FILE    the controller's --agent-secret-file
  --admin-digest        print the hex SHA-256 of the admin token instead (for the agent's
                        --admin-token-sha256-file: the agent recognises the admin without holding it)
  --token-file FILE     the admin token (with --admin-digest)

The credential is printed on stdout, followed by a newline. Write it to the agent's --token-file:
it is accepted for that shard and replica only.
`;

export async function run(argv: string[]): Promise<number> {
  try {
    const { values: v } = parseFlags(argv, {
      shard: { type: 'string' },
      replica: { type: 'string' },
      split: { type: 'string' },
      'secret-file': { type: 'string' },
      'admin-digest': { type: 'boolean', default: false },
      'token-file': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    });
    if (v.help) {
      process.stdout.write(USAGE);
      return 0;
    }
    if (v['admin-digest']) {
      if (!v['token-file']) throw new UsageError('--admin-digest needs --token-file');
      if (v.shard || v.replica || v['secret-file']) throw new UsageError('--admin-digest takes only --token-file');
      process.stdout.write(adminTokenDigest(readTokenFile(v['token-file'])) + '\n');
      return 0;
    }
    for (const required of ['shard', 'replica', 'secret-file'] as const) if (!v[required]) throw new UsageError(`--${required} is required`);
    for (const name of ['shard', 'replica'] as const) {
      if (!AGENT_NAME.test(v[name]!)) throw new UsageError(`--${name} "${v[name]}" must be a name of letters, digits, . _ - (at most 128)`);
    }
    const split = v.split === undefined ? undefined : parseSplitIndex(v.split);
    if (split === null) throw new UsageError(`--split "${v.split}" must be a split number: 0, 1, 2, ...`);
    process.stdout.write(deriveAgentToken(readTokenFile(v['secret-file']!), { shard: v.shard!, split, replica: v.replica! }) + '\n');
    return 0;
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`promshard agent-token: ${err.message}\n\n${USAGE}`);
      return 2;
    }
    throw err;
  }
}
