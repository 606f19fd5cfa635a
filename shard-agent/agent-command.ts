// `promshard agent`: runs one shard agent beside one Prometheus until SIGTERM/SIGINT.
import { setFlagsFromString } from 'node:v8';
import { readDigestFile } from '../core/http/agent-credential.ts';
import { readTokenFile } from '../core/http/auth.ts';
import { requireDurationMs } from '../core/time/duration.ts';
import { parseFlags, UsageError } from '../cli/args.ts';
import type { ReloadMethod } from './reload-prometheus.ts';
import { startAgent } from './start-agent.ts';
import { exposeGc } from './idle-gc.ts';
import { parseSplitIndex, unitName } from '../core/document/split-name.ts';

/** How long after the last apply of a burst the agent collects its garbage (idle-gc.ts). */
const IDLE_GC_DELAY_MS = 1000;

const USAGE = `usage: promshard agent --shard NAME [--split I] --replica NAME --listen HOST:PORT --prometheus-url URL
                       --config-file PATH --state-dir DIR --token-file FILE [options]

  --shard NAME                 shard this agent serves (documents for other shards are refused)
  --split I                    split this agent serves, for a shard declared with split: N in shards.yaml
                               (0 .. N-1): it then serves the document <shard>.s<I>, registers as that,
                               and needs that split's credential (agent-token --split I)
  --replica NAME               replica name within the shard (or split)
  --listen HOST:PORT           address of the agent's API (default 127.0.0.1:9464)
  --prometheus-url URL         the local Prometheus (e.g. http://127.0.0.1:9090)
  --config-file PATH           the file Prometheus reads (--config.file); other files go beside it
  --state-dir DIR              where the agent records what is applied (journal, previous files)
  --token-file FILE            this agent's own credential (promshard agent-token --shard S --replica R):
                               callers must present it, and it is presented to the controller
  --admin-token-sha256-file F  hex SHA-256 of the admin token (promshard agent-token --admin-digest):
                               the admin token is then accepted too; only it may POST /v1/apply?force=true
  --controller URL             central controller: register, pull the desired document, report
  --controller-token-file FILE token presented to the controller (default: the --token-file token)
  --promtool PATH              promtool binary (default /usr/bin/promtool if present); "none" disables
  --promtool-syntax-only       promtool check config --syntax-only: referenced files (credentials_file,
                               TLS certificates) need not exist on this machine (demos, test benches)
  --reload http|signal         POST /-/reload (default; needs --web.enable-lifecycle) or SIGHUP
  --prometheus-pid N           pid to SIGHUP with --reload signal
  --prometheus-pid-file F      file holding that pid (re-read at every reload)
  --advertise-url URL          how the controller reaches this agent (default http://LISTEN)
  --pull-interval DURATION     desired-document pull period (default 30s)
  --heartbeat-interval DUR     status report period (default 10s)
  --probe-interval DURATION    Prometheus reachability probe period (default 2s)
  --outage-blame-window DURATION
                               a Prometheus outage starting this soon after a document was loaded is
                               blamed on that document: the rollout halts instead of skipping (default 60s)
  --reload-timeout DURATION    how long a reload may take to be proven (default 10s)
  --max-body SIZE              POST /v1/apply body limit (default 8mb)
  --cardinality-interval DUR   how often to analyse cardinality (default 60s; 0 turns it off)
  --cardinality-budget DUR     time budget of one analysis cycle (default 20s)
`;

export async function run(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(USAGE);
    return 0;
  }
  const { values: v } = parseFlags(argv, {
    shard: { type: 'string' },
    replica: { type: 'string' },
    split: { type: 'string' },
    listen: { type: 'string', default: '127.0.0.1:9464' },
    'prometheus-url': { type: 'string' },
    'config-file': { type: 'string' },
    'state-dir': { type: 'string' },
    controller: { type: 'string' },
    'token-file': { type: 'string' },
    'controller-token-file': { type: 'string' },
    'admin-token-sha256-file': { type: 'string' },
    promtool: { type: 'string' },
    'promtool-syntax-only': { type: 'boolean', default: false },
    reload: { type: 'string', default: 'http' },
    'prometheus-pid': { type: 'string' },
    'prometheus-pid-file': { type: 'string' },
    'advertise-url': { type: 'string' },
    'pull-interval': { type: 'string', default: '30s' },
    'heartbeat-interval': { type: 'string', default: '10s' },
    'probe-interval': { type: 'string', default: '2s' },
    'outage-blame-window': { type: 'string', default: '60s' },
    'reload-timeout': { type: 'string', default: '10s' },
    'max-body': { type: 'string', default: '8mb' },
    'cardinality-interval': { type: 'string', default: '60s' },
    'cardinality-budget': { type: 'string', default: '20s' },
  });
  try {
    for (const required of ['shard', 'replica', 'prometheus-url', 'config-file', 'state-dir', 'token-file'] as const) {
      if (!v[required]) throw new UsageError(`--${required} is required`);
    }
    let reload: ReloadMethod;
    if (v.reload === 'http') reload = { kind: 'http' };
    else if (v.reload === 'signal') {
      if (!v['prometheus-pid'] && !v['prometheus-pid-file']) throw new UsageError('--reload signal needs --prometheus-pid or --prometheus-pid-file');
      reload = { kind: 'signal', pid: v['prometheus-pid'] ? Number(v['prometheus-pid']) : undefined, pidFile: v['prometheus-pid-file'] };
    } else throw new UsageError('--reload must be http or signal');
    if (!/^\d+(b|kb|mb|gb)?$/i.test(v['max-body']!)) throw new UsageError('--max-body must be a size such as 8mb');
    const duration = (name: 'pull-interval' | 'heartbeat-interval' | 'probe-interval' | 'outage-blame-window' | 'reload-timeout' | 'cardinality-interval' | 'cardinality-budget') => {
      try {
        return requireDurationMs(v[name]!, `--${name}`);
      } catch (err) {
        throw new UsageError((err as Error).message);
      }
    };
    const split = v.split === undefined ? undefined : parseSplitIndex(v.split);
    if (split === null) throw new UsageError(`--split "${v.split}" must be a split number: 0, 1, 2, ...`);
    const token = readTokenFile(v['token-file']!);
    const controllerToken = v['controller-token-file'] ? readTokenFile(v['controller-token-file']) : token;
    // An agent is idle but for bursts of applies, each parsing a large document and Prometheus's
    // answers. V8 grows the young generation to 2 × 16 MB during a burst and Node 20 never gives it
    // back (docs/agent.md, Memory); kept at its initial size, the agent's RSS stays lower after a
    // burst. Set here, in the agent's own process, before its first apply (not in startAgent, which
    // tests and the demo run inside other processes). Node warns that V8 flags set at run time may
    // misbehave; this one only caps the young generation's growth (bin/promshard.mjs does the same
    // for validate, plan and render).
    setFlagsFromString('--semi-space-growth-factor=1');
    const agent = await startAgent({
      // A split is its own rollout unit: everything the agent does is keyed by the split's document name.
      shard: unitName(v.shard!, split),
      replica: v.replica!,
      listen: v.listen,
      prometheusUrl: v['prometheus-url']!,
      configFile: v['config-file']!,
      stateDir: v['state-dir']!,
      token,
      adminTokenSha256: v['admin-token-sha256-file'] ? readDigestFile(v['admin-token-sha256-file']) : undefined,
      controllerUrl: v.controller,
      controllerToken,
      promtool: v.promtool === 'none' ? null : v.promtool,
      promtoolSyntaxOnly: v['promtool-syntax-only'],
      reload,
      advertiseUrl: v['advertise-url'],
      pullIntervalMs: duration('pull-interval'),
      heartbeatMs: duration('heartbeat-interval'),
      probeIntervalMs: duration('probe-interval'),
      outageBlameWindowMs: duration('outage-blame-window'),
      reloadTimeoutMs: duration('reload-timeout'),
      maxBody: v['max-body'],
      // 0 turns the analyzer off; otherwise it runs on this schedule (and on demand).
      cardinality: duration('cardinality-interval') > 0 ? { intervalMs: duration('cardinality-interval'), budgetMs: duration('cardinality-budget') } : false,
      testDelayMs: process.env.PROMSHARD_AGENT_TEST_DELAY_MS ? Number(process.env.PROMSHARD_AGENT_TEST_DELAY_MS) : undefined,
      collectWhenIdle: { gc: exposeGc(), delayMs: IDLE_GC_DELAY_MS },
    });
    // Tests and supervisors read the bound address from this line (the port may be :0).
    process.stdout.write(JSON.stringify({ listening: agent.url }) + '\n');
    await new Promise<void>((resolve) => {
      const stop = () => resolve();
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
    });
    await agent.close();
    return 0;
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`promshard agent: ${err.message}\n\n${USAGE}`);
      return 2;
    }
    throw err;
  }
}
