// Child process of event-stream-churn.test.ts: a real controller (with its dashboard and default
// process metrics) alone in its own process, so that its memory can be read without the test's own
// allocations in it. Run with --expose-gc: on the message "gc" it collects twice and answers with
// the mechanism's counts (close hooks, event listeners, open streams); the test then reads the
// memory from the controller's own /metrics. Nothing of this is in the product: the GC hook lives here.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GitRepo, SHARDS_YAML, launchController } from './helpers.ts';

const repo = new GitRepo();
repo.commit({ 'shards.yaml': SHARDS_YAML });
const stateDir = mkdtempSync(join(tmpdir(), 'promshard-churn-state-'));
const ctl = await launchController(repo, stateDir, 0, { defaultMetrics: true, pollMs: 0, reconcileMs: 60_000, maxEventStreams: 200, maxEventStreamsPerClient: 100 }, []);
const gc = (globalThis as { gc?: () => void }).gc;

const counts = () => ({
  closeHooks: ctl.runtime.closeHookCount(),
  listeners: ['event', 'shard', 'repository'].reduce((n, e) => n + ctl.state.events.listenerCount(e), 0),
  streams: ctl.runtime.streams.size,
});

process.on('message', async (m: { type: string }) => {
  if (m.type === 'gc') {
    // Several passes with a pause between: finalizers of closed sockets free more on the next pass.
    for (let i = 0; i < 3; i++) {
      gc?.();
      await new Promise((r) => setTimeout(r, 50));
    }
    process.send!({ type: 'gc-done', gc: !!gc, ...counts() });
  } else if (m.type === 'stop') {
    await ctl.close();
    repo.destroy();
    rmSync(stateDir, { recursive: true, force: true });
    process.exit(0);
  }
});
process.send!({ type: 'ready', url: ctl.url, port: ctl.port, ...counts() });
