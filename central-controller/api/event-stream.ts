// GET /v1/events/stream: server-sent events. Every timeline event is sent as `event: <type>`; shard and
// repository state changes as `event: shard` / `event: repository` (data: the new view), throttled per
// shard. A comment line every 15 s keeps proxies from closing the stream.
import type { Express, RequestHandler } from 'express';
import type { ControllerEvent } from '../controller-state.ts';
import type { ControllerRuntime } from '../runtime.ts';
import { repositoryView, shardSummary } from '../views.ts';

export function mountEventStream(app: Express, rt: ControllerRuntime, guard: RequestHandler): void {
  app.get('/v1/events/stream', guard, (req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    res.flushHeaders();
    const send = (type: string, data: unknown, id?: number) => {
      res.write(`${id !== undefined ? `id: ${id}\n` : ''}event: ${type}\ndata: ${JSON.stringify(data)}\n\n`);
    };
    const since = Number(req.headers['last-event-id'] ?? req.query.since ?? 0);
    if (since > 0) for (const e of rt.state.recentEvents(500, since).reverse()) send(e.type, e, e.id);
    send('hello', { at: new Date().toISOString() });

    const pending = new Set<string>();
    let timer: NodeJS.Timeout | null = null;
    const flushShards = () => {
      timer = null;
      for (const name of pending) send('shard', shardSummary(rt.state, rt.state.shard(name)));
      pending.clear();
    };
    const onEvent = (e: ControllerEvent) => send(e.type, e, e.id);
    const onShard = (name: string) => {
      pending.add(name);
      timer ??= setTimeout(flushShards, 100);
    };
    const onRepository = () => send('repository', repositoryView(rt.state));
    rt.state.events.on('event', onEvent);
    rt.state.events.on('shard', onShard);
    rt.state.events.on('repository', onRepository);
    const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), 15000);
    const stop = () => {
      clearInterval(keepAlive);
      if (timer) clearTimeout(timer);
      rt.state.events.off('event', onEvent);
      rt.state.events.off('shard', onShard);
      rt.state.events.off('repository', onRepository);
    };
    req.on('close', stop);
    rt.onClose(() => {
      stop();
      res.end();
    });
  });
}
