// GET /v1/events/stream: server-sent events. Every timeline event is sent as `event: <type>`; shard and
// repository state changes as `event: shard` / `event: repository` (data: the new view), throttled per
// shard. A comment line every 15 s keeps proxies from closing the stream. Admission, bounds and
// clean-up are the controller's EventStreams (central-controller/event-streams.ts).
import type { Express, RequestHandler } from 'express';
import type { ControllerEvent } from '../controller-state.ts';
import type { ControllerRuntime } from '../runtime.ts';
import { repositoryView, shardSummary } from '../views.ts';
import { sseFrame } from '../event-streams.ts';

export function mountEventStream(app: Express, rt: ControllerRuntime, guard: RequestHandler): void {
  app.get('/v1/events/stream', guard, (req, res) => {
    const pending = new Set<string>();
    let timer: NodeJS.Timeout | null = null;
    let keepAlive: NodeJS.Timeout | null = null;
    const stop = () => {
      if (keepAlive) clearInterval(keepAlive);
      if (timer) clearTimeout(timer);
      rt.state.events.off('event', onEvent);
      rt.state.events.off('shard', onShard);
      rt.state.events.off('repository', onRepository);
    };
    const stream = rt.streams.admit(req, res, 'api', stop);
    if (!stream) return;
    const send = (type: string, data: unknown, id?: number) => stream.write(sseFrame(type, data, id));
    // Listeners and timers run outside any request handler: a throw there would be uncaught.
    const guarded = (what: string, fn: () => void) => {
      try {
        fn();
      } catch (err) {
        rt.log.error('event stream callback failed', { what, error: err });
      }
    };
    const flushShards = () =>
      guarded('shard', () => {
        timer = null;
        for (const name of pending) send('shard', shardSummary(rt.state, rt.state.shard(name)));
        pending.clear();
      });
    function onEvent(e: ControllerEvent) {
      guarded('event', () => send(e.type, e, e.id));
    }
    function onShard(name: string) {
      pending.add(name);
      timer ??= setTimeout(flushShards, 100);
    }
    function onRepository() {
      guarded('repository', () => send('repository', repositoryView(rt.state)));
    }

    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    res.flushHeaders();
    const since = Number(req.headers['last-event-id'] ?? req.query.since ?? 0);
    if (since > 0) for (const e of rt.state.recentEvents(500, since).reverse()) send(e.type, e, e.id);
    send('hello', { at: new Date().toISOString() });
    rt.state.events.on('event', onEvent);
    rt.state.events.on('shard', onShard);
    rt.state.events.on('repository', onRepository);
    keepAlive = setInterval(() => stream.write(': keep-alive\n\n'), 15000);
  });
}
