// `promshard <subcommand>`: dispatches to one module per subcommand, loaded lazily so that `validate`
// does not pay for the controller's dependencies.

type Command = { summary: string; load: () => Promise<{ run(argv: string[]): Promise<number> }> };

const COMMANDS: Record<string, Command> = {
  validate: { summary: 'validate a scrape-configs repository (exit 0 valid, 1 findings, 2 usage)', load: () => import('../ci/validate-command.ts') },
  plan: { summary: 'show what a change does to each shard (git base..head)', load: () => import('../ci/plan-command.ts') },
  render: { summary: 'render one Prometheus configuration directory per shard', load: () => import('../ci/render-command.ts') },
  fix: { summary: "apply a cardinality flag's fix to its team file; print the diff or open a PR/MR (--open-pr)", load: () => import('../ci/fix-command.ts') },
  controller: { summary: 'run the central controller', load: () => import('../central-controller/controller-command.ts') },
  agent: { summary: 'run a shard agent beside one Prometheus', load: () => import('../shard-agent/agent-command.ts') },
  'agent-token': { summary: "print one agent's credential (derived from the controller's agent secret)", load: () => import('./agent-token-command.ts') },
  demo: { summary: 'run a local fleet on the bundled scrape-configs/ with real Prometheus', load: () => import('../demo/demo-command.ts') },
};

export function usage(): string {
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(11)} ${c.summary}`);
  return `usage: promshard <command> [options]\n\ncommands:\n${lines.join('\n')}\n\nRun \`promshard <command> --help\` for a command's options.\n`;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage());
    return name ? 0 : 2;
  }
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`promshard: unknown command "${name}"\n\n${usage()}`);
    return 2;
  }
  try {
    const mod = await command.load();
    return await mod.run(rest);
  } catch (err) {
    process.stderr.write(`promshard ${name}: ${(err as Error).message}\n`);
    if (process.env.PROMSHARD_DEBUG) process.stderr.write(`${(err as Error).stack}\n`);
    return 2;
  }
}
