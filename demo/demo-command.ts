// `promshard demo`: a local fleet on the bundled scrape-configs/ (see docs/demo.md). Runs until
// Ctrl-C / SIGTERM (or --duration, or --exit-after-ready), then stops every child process it started.
import { projectRoot } from '../core/project-root.ts';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseFlags, UsageError } from '../cli/args.ts';
import { createLogger, type LogLevel } from '../core/log/logger.ts';
import { requireDurationMs } from '../core/time/duration.ts';
import { readyBanner } from './banner.ts';
import { findPrerequisites, MissingPrerequisite } from './prerequisites.ts';
import { ProcessTracker } from './processes.ts';
import { DemoAborted, startDemo, waitUntilInSync } from './start-demo.ts';

export const DEFAULT_SHARDS = ['networking', 'storage', 'compute'];
const BUNDLED_CONFIGS = join(projectRoot(), 'scrape-configs');

const USAGE = `usage: promshard demo [options]

Starts a local fleet on loopback: the controller with its dashboard, and for each shard two real
Prometheus servers, each with its shard agent, plus two exporters. Prints the dashboard URL and the
path of a git repository (a copy of scrape-configs/) to edit and commit into.

  --config DIR              scrape-configs folder to copy (default: the bundled scrape-configs/)
  --shards A,B,C            shards to run (default ${DEFAULT_SHARDS.join(',')}; "platform" needs
                            kubernetes_sd_configs, which Debian's Prometheus lacks)
  --replicas N              replicas per shard (default 2)
  --port N                  controller/dashboard port (default 8480 if free, else any free port)
  --dir DIR                 keep everything in DIR (default: a temporary directory removed on exit)
  --keep                    do not remove the temporary directory on exit
  --poll DURATION           controller's fallback poll of the repository (default 2s)
  --prometheus PATH         Prometheus binary (default: $PROMETHEUS_BIN, PATH, /usr/bin/prometheus)
  --duration DURATION       stop by itself after this long (CI smoke runs)
  --exit-after-ready        stop as soon as the fleet is in sync (CI smoke runs)
  --ready-timeout DURATION  how long to wait for the first rollout (default 60s)
  --log-level LEVEL         debug|info|warn|error for the log file (default info)
`;

export async function run(argv: string[]): Promise<number> {
  let v;
  try {
    ({ values: v } = parseFlags(argv, {
      config: { type: 'string' },
      shards: { type: 'string', default: DEFAULT_SHARDS.join(',') },
      replicas: { type: 'string', default: '2' },
      port: { type: 'string', default: '0' },
      dir: { type: 'string' },
      keep: { type: 'boolean', default: false },
      poll: { type: 'string', default: '2s' },
      prometheus: { type: 'string' },
      duration: { type: 'string' },
      'exit-after-ready': { type: 'boolean', default: false },
      'ready-timeout': { type: 'string', default: '60s' },
      'log-level': { type: 'string', default: 'info' },
      help: { type: 'boolean', short: 'h' },
    }));
  } catch (err) {
    process.stderr.write(`promshard demo: ${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (v.help) {
    process.stdout.write(USAGE);
    return 0;
  }

  let shards: string[];
  let replicas: number;
  let port: number;
  let pollMs: number;
  let durationMs: number | null;
  let readyTimeoutMs: number;
  try {
    shards = v.shards!.split(',').map((s) => s.trim()).filter(Boolean);
    if (shards.length === 0) throw new UsageError('--shards needs at least one shard');
    if (new Set(shards).size !== shards.length) throw new UsageError('--shards lists a shard twice');
    replicas = Number(v.replicas);
    if (!Number.isInteger(replicas) || replicas < 1 || replicas > 5) throw new UsageError('--replicas must be 1 to 5');
    port = Number(v.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError('--port must be a port number');
    const dur = (text: string, what: string) => {
      try {
        return requireDurationMs(text, what);
      } catch (err) {
        throw new UsageError((err as Error).message);
      }
    };
    pollMs = dur(v.poll!, '--poll');
    durationMs = v.duration ? dur(v.duration, '--duration') : null;
    readyTimeoutMs = dur(v['ready-timeout']!, '--ready-timeout');
    if (!['debug', 'info', 'warn', 'error'].includes(v['log-level']!)) throw new UsageError('--log-level must be debug, info, warn or error');
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`promshard demo: ${err.message}\n\n${USAGE}`);
      return 2;
    }
    throw err;
  }

  // Prerequisites first: a missing Prometheus stops the demo before anything is created.
  let prereq;
  try {
    prereq = findPrerequisites({ prometheus: v.prometheus });
  } catch (err) {
    if (err instanceof MissingPrerequisite) {
      process.stderr.write(`promshard demo: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  const source = resolve(v.config ?? BUNDLED_CONFIGS);
  if (!existsSync(join(source, 'shards.yaml'))) {
    process.stderr.write(`promshard demo: ${source} holds no shards.yaml (use --config DIR with a scrape-configs folder)\n`);
    return 2;
  }

  let baseDir: string;
  if (v.dir) {
    baseDir = resolve(v.dir);
    if (existsSync(baseDir) && readdirSync(baseDir).length > 0) {
      process.stderr.write(`promshard demo: --dir ${baseDir} is not empty\n`);
      return 2;
    }
    mkdirSync(baseDir, { recursive: true });
  } else {
    baseDir = mkdtempSync(join(tmpdir(), 'promshard-demo-'));
  }
  const removeOnExit = !v.dir && !v.keep;
  const logFile = join(baseDir, 'demo.log');
  const logStream = createWriteStream(logFile, { flags: 'a' });
  const log = createLogger({ component: 'demo', level: v['log-level'] as LogLevel, write: (line) => logStream.write(line + '\n') });
  const say = (line: string) => process.stdout.write(line + '\n');

  // Stop requests: the first Ctrl-C / SIGTERM stops cleanly; a second one kills the children at once.
  const stop = new AbortController();
  let forced = false;
  const tracker = new ProcessTracker();
  const onSignal = (sig: NodeJS.Signals) => {
    if (stop.signal.aborted) {
      if (!forced) {
        forced = true;
        process.stderr.write(`\npromshard demo: ${sig} again: killing every child process now\n`);
        tracker.killAllNow();
        process.exit(130);
      }
      return;
    }
    process.stderr.write(`\npromshard demo: ${sig} received, stopping every Prometheus, agent and exporter…\n`);
    stop.abort();
    // Children first: a start-up step waiting on one of them fails at once and unwinds.
    void tracker.stopAll();
  };
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const s of signals) process.on(s, onSignal);
  const stopped = new Promise<void>((r) => stop.signal.addEventListener('abort', () => r(), { once: true }));

  let code = 0;
  try {
    say(`promshard demo: Prometheus ${prereq.prometheus}${prereq.promtool ? `, promtool ${prereq.promtool} (--syntax-only)` : ', no promtool (configurations are not pre-checked)'}`);
    // A stop during start-up makes startDemo fail at its next step, after cleaning up what it started.
    const demo = await startDemo({ baseDir, source, shards, replicas, prometheusBin: prereq.prometheus, promtool: prereq.promtool, port, pollMs, log, progress: (l) => say(`  ${l}`), signal: stop.signal, tracker });
    {
      try {
        say('  waiting for the first rollout to reach every replica…');
        const inSync = await waitUntilInSync(demo, shards, replicas, readyTimeoutMs, stop.signal);
        if (!stop.signal.aborted) {
          const stopHint = v['exit-after-ready'] ? 'Exiting now (--exit-after-ready).' : durationMs !== null ? `Stopping by itself in ${Math.round(durationMs / 1000)} s (--duration); Ctrl-C stops it sooner.` : 'Press Ctrl-C to stop: every Prometheus the demo started stops with it.';
          say(readyBanner(demo, { shards, replicas, logFile, inSync, stopHint }));
          if (!inSync) code = v['exit-after-ready'] ? 1 : 0;
          if (!v['exit-after-ready']) {
            await Promise.race([stopped, ...(durationMs !== null ? [new Promise((r) => setTimeout(r, durationMs).unref())] : [])]);
          }
        }
      } finally {
        say('promshard demo: stopping…');
        await demo.close();
      }
    }
  } catch (err) {
    if (!(err instanceof DemoAborted) && !stop.signal.aborted) {
      process.stderr.write(`promshard demo: ${(err as Error).message}\n  (details in ${logFile})\n`);
      log.error('demo failed', { error: (err as Error).message, stack: (err as Error).stack });
      if (process.env.PROMSHARD_DEBUG) process.stderr.write(`${(err as Error).stack}\n`);
      code = 1;
    }
  } finally {
    await tracker.stopAll();
    tracker.dispose();
    for (const s of signals) process.off(s, onSignal);
    await new Promise<void>((r) => logStream.end(() => r()));
    if (removeOnExit) rmSync(baseDir, { recursive: true, force: true });
    else say(`promshard demo: files kept in ${baseDir}`);
  }
  say('promshard demo: stopped; no process left behind.');
  // Safety net: if a stray handle would keep the event loop alive, do not hang the terminal.
  setTimeout(() => process.exit(process.exitCode ?? code), 3000).unref();
  return code;
}
