// A test Kubernetes API server: no cluster can run on these machines (no container engine, no
// apiserver package), so tests talk to this instead, through @kubernetes/client-node itself. It speaks
// the real wire protocol over HTTPS (self-signed certificate made with openssl at test time; the
// kubeconfig carries it as the CA, so TLS is verified as in a cluster, never skipTLSVerify) for what
// promshard uses, with the strictness of the real server where a lenient fake would hide bugs (see
// FIELD-NOTES "Kubernetes"). Tests that use it say so: "(test API server at the HTTP level; no cluster here)".
//
// Public API (kept stable: other helpers' tests use it):
//   startKubeApiServer(opts?) -> KubeApiServer          opts.bookmarkIntervalMs (default 1000)
//   writeKubeconfig(server, dir, { token, namespace?, name? }) -> path of a kubeconfig file whose
//       user authenticates with `token` (give each client its own token: partition/forbid use it)
//   podManifest({ namespace, name, labels, ip, port, ready, portName? }) -> a Pod object
//   KubeApiServer:
//     url, caPem, close()
//     Pods:   addPod(pod) / modifyPod(ns, name, mutate) / deletePod(ns, name) / getPod(ns, name)
//             setPodReady(ns, name, ready) / setPodIp(ns, name, ip)
//     Watch faults: expireWatches()  compacts history and sends every open pod watch one in-stream
//                                    ERROR (Status 410 Gone), as the real server does
//                   silenceWatches() open watches stay connected but receive nothing more
//                   resetWatches()   destroys the sockets of open watches mid-stream
//                   openWatches()    number of open pod watches
//     Access: forbid(resource, token?) / allow(resource, token?)  answers 403 Forbidden (Status body)
//             partition(token, 'refuse' | 'hang') / heal(token)    per client: reset the connection
//                                    at once, or never answer; a token may also be a user-agent prefix
//     Stored objects: getLease(ns, name), leases(), events(), requests (log of {method, path, token, status})
//     Leases (coordination.k8s.io/v1): POST create (409 AlreadyExists), GET (404), PUT replace
//             (422 without metadata.resourceVersion, 409 Conflict on a stale one), DELETE;
//             spec fields not in the API are dropped; acquireTime/renewTime are MicroTime: exactly
//             six fractional digits or 400.
//     Events: core/v1 (POST, GET list, PUT) and events.k8s.io/v1 (POST, GET list); eventTime is
//             MicroTime with the same strictness (core/v1 allows it null).
//   Pods list: /api/v1/pods and /api/v1/namespaces/{ns}/pods, labelSelector (=, ==, !=, exists, !key,
//     in, notin), limit/continue chunking, metadata.resourceVersion on the list, items without kind.
//   Pods watch: ?watch=true&resourceVersion=&allowWatchBookmarks=true&timeoutSeconds=, JSON lines of
//     {type, object}; no resourceVersion (or "0") starts with synthetic ADDED for every pod; a
//     resourceVersion older than the compacted one gets HTTP 200 and one ERROR event with code 410.
//     Labels changing under a selector are sent as ADDED/DELETED as the real server's filter does.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';

type Obj = Record<string, any>;

export interface PodOptions {
  namespace: string;
  name: string;
  labels?: Record<string, string>;
  ip?: string | null;
  port?: number;
  portName?: string;
  ready?: boolean;
}

export type Resource = 'pods' | 'leases' | 'events';

interface WatchConn {
  res: ServerResponse;
  namespace: string | null;
  selector: Selector;
  silent: boolean;
  token: string;
  bookmarkTimer: NodeJS.Timeout | null;
  endTimer: NodeJS.Timeout | null;
}

interface HistoryEntry {
  rv: number;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: Obj;
  previous: Obj | null;
}

export interface RequestRecord {
  method: string;
  path: string;
  token: string;
  userAgent: string;
  status: number;
}

let certCache: { key: string; cert: string } | null = null;

/** A self-signed certificate for 127.0.0.1/localhost, made once per process with openssl. */
function testCertificate(): { key: string; cert: string } {
  if (certCache) return certCache;
  const dir = mkdtempSync(join(tmpdir(), 'kube-api-cert-'));
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '2', '-subj', '/CN=promshard-test-apiserver',
      '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'], { stdio: 'ignore' });
    certCache = { key: readFileSync(join(dir, 'key.pem'), 'utf8'), cert: readFileSync(join(dir, 'cert.pem'), 'utf8') };
    return certCache;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A Pod as a kubelet would report it: the agent's container port named `promshard-agent`. */
export function podManifest(o: PodOptions): Obj {
  const ready = o.ready ?? true;
  const ip = o.ip === undefined ? '127.0.0.1' : o.ip;
  return {
    metadata: { name: o.name, namespace: o.namespace, labels: { ...(o.labels ?? {}) } },
    spec: {
      containers: [
        { name: 'prometheus', image: 'prom/prometheus', ports: [{ name: 'web', containerPort: 9090, protocol: 'TCP' }] },
        { name: 'agent', image: 'promshard', ports: [{ name: o.portName ?? 'promshard-agent', containerPort: o.port ?? 9700, protocol: 'TCP' }] },
      ],
    },
    status: {
      phase: ip ? 'Running' : 'Pending',
      ...(ip ? { podIP: ip, podIPs: [{ ip }] } : {}),
      conditions: [{ type: 'Ready', status: ready ? 'True' : 'False', lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z') }],
    },
  };
}

// --- label selectors (the subset of the real grammar kubectl users write) ---
type Requirement = { key: string; op: 'in' | 'notin' | 'exists' | '!exists'; values: string[] };
type Selector = Requirement[];

function parseSelector(text: string | null): Selector | string {
  if (!text) return [];
  const parts: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of text) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) { parts.push(cur); cur = ''; } else cur += ch;
  }
  parts.push(cur);
  const out: Selector = [];
  for (const raw of parts) {
    const p = raw.trim();
    let m: RegExpMatchArray | null;
    if ((m = p.match(/^([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)$/))) out.push({ key: m[1]!, op: m[2] as 'in' | 'notin', values: m[3]!.split(',').map((s) => s.trim()).filter(Boolean) });
    else if ((m = p.match(/^([\w./-]+)\s*!=\s*([\w.-]*)$/))) out.push({ key: m[1]!, op: 'notin', values: [m[2]!] });
    else if ((m = p.match(/^([\w./-]+)\s*==?\s*([\w.-]*)$/))) out.push({ key: m[1]!, op: 'in', values: [m[2]!] });
    else if ((m = p.match(/^!([\w./-]+)$/))) out.push({ key: m[1]!, op: '!exists', values: [] });
    else if ((m = p.match(/^([\w./-]+)$/))) out.push({ key: m[1]!, op: 'exists', values: [] });
    else return `unable to parse requirement: ${JSON.stringify(p)}`;
  }
  return out;
}

function matches(sel: Selector, labels: Record<string, string> | undefined): boolean {
  const l = labels ?? {};
  return sel.every((r) => {
    const has = Object.prototype.hasOwnProperty.call(l, r.key);
    switch (r.op) {
      case 'exists': return has;
      case '!exists': return !has;
      case 'in': return has && r.values.includes(l[r.key]!);
      case 'notin': return !has || !r.values.includes(l[r.key]!);
    }
  });
}

// --- Status bodies, as metav1.Status ---
function status(code: number, reason: string, message: string, details?: Obj): Obj {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, ...(details ? { details } : {}), code };
}

const MICRO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}(Z|[+-]\d{2}:\d{2})$/;

/** null when `value` is an acceptable MicroTime (or absent), else the real server's parse error. */
function microTimeError(kind: string, value: unknown): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value === 'string' && MICRO_TIME.test(value) && !Number.isNaN(Date.parse(value))) return null;
  return `${kind} in version "v1" cannot be handled as a ${kind}: parsing time ${JSON.stringify(String(value))} as "2006-01-02T15:04:05.000000Z07:00": cannot parse as ".000000"`;
}

const LEASE_SPEC_FIELDS = ['holderIdentity', 'leaseDurationSeconds', 'acquireTime', 'renewTime', 'leaseTransitions', 'strategy', 'preferredHolder'];

export interface KubeApiServerOptions {
  /** How often open watches that asked for bookmarks get one (the real server: about a minute). */
  bookmarkIntervalMs?: number;
}

export class KubeApiServer {
  url = '';
  readonly caPem: string;
  readonly requests: RequestRecord[] = [];
  private readonly server: Server;
  private rv = 1;
  private compactedRv = 0;
  private readonly pods = new Map<string, Obj>();
  private history: HistoryEntry[] = [];
  private readonly watches = new Set<WatchConn>();
  private readonly leaseStore = new Map<string, Obj>();
  private readonly eventStore: Obj[] = [];
  private readonly forbidden = new Set<string>();
  private readonly partitions = new Map<string, 'refuse' | 'hang'>();
  private readonly hung = new Set<ServerResponse>();
  private readonly sockets = new Set<Socket>();
  private readonly bookmarkIntervalMs: number;

  constructor(opts: KubeApiServerOptions = {}) {
    const { key, cert } = testCertificate();
    this.caPem = cert;
    this.bookmarkIntervalMs = opts.bookmarkIntervalMs ?? 1000;
    this.server = createServer({ key, cert }, (req, res) => this.handle(req, res));
    this.server.on('secureConnection', (s) => { this.sockets.add(s); s.on('close', () => this.sockets.delete(s)); });
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    const addr = this.server.address();
    if (!addr || typeof addr === 'string') throw new Error('no address');
    this.url = `https://127.0.0.1:${addr.port}`;
  }

  async close(): Promise<void> {
    for (const w of this.watches) this.endWatch(w);
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  // ---------- test controls: pods ----------
  addPod(pod: Obj): Obj {
    const p = structuredClone(pod);
    const key = `${p.metadata.namespace}/${p.metadata.name}`;
    if (this.pods.has(key)) throw new Error(`pod ${key} exists`);
    p.metadata.uid = randomUUID();
    p.metadata.creationTimestamp = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    p.metadata.resourceVersion = String(++this.rv);
    this.pods.set(key, p);
    this.record('ADDED', p, null);
    return structuredClone(p);
  }

  modifyPod(namespace: string, name: string, mutate: (pod: Obj) => void): Obj {
    const key = `${namespace}/${name}`;
    const old = this.pods.get(key);
    if (!old) throw new Error(`no pod ${key}`);
    const p = structuredClone(old);
    mutate(p);
    p.metadata.resourceVersion = String(++this.rv);
    this.pods.set(key, p);
    this.record('MODIFIED', p, old);
    return structuredClone(p);
  }

  setPodReady(namespace: string, name: string, ready: boolean): Obj {
    return this.modifyPod(namespace, name, (p) => {
      p.status.conditions = [{ type: 'Ready', status: ready ? 'True' : 'False', lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z') }];
    });
  }

  setPodIp(namespace: string, name: string, ip: string | null): Obj {
    return this.modifyPod(namespace, name, (p) => {
      if (ip) { p.status.podIP = ip; p.status.podIPs = [{ ip }]; p.status.phase = 'Running'; } else { delete p.status.podIP; delete p.status.podIPs; }
    });
  }

  deletePod(namespace: string, name: string): void {
    const key = `${namespace}/${name}`;
    const old = this.pods.get(key);
    if (!old) throw new Error(`no pod ${key}`);
    this.pods.delete(key);
    const p = structuredClone(old);
    p.metadata.resourceVersion = String(++this.rv);
    this.record('DELETED', p, old);
  }

  getPod(namespace: string, name: string): Obj | undefined {
    const p = this.pods.get(`${namespace}/${name}`);
    return p && structuredClone(p);
  }

  // ---------- test controls: watch faults ----------
  /** Compacts the history (every resourceVersion so far becomes too old) and sends open watches 410 Gone. */
  expireWatches(): void {
    this.compactedRv = this.rv;
    this.history = [];
    for (const w of [...this.watches]) {
      if (w.silent) continue;
      this.send(w, { type: 'ERROR', object: this.goneStatus() });
      this.endWatch(w);
    }
  }

  /** Open watches stay connected and receive nothing more (no events, no bookmarks): a silent stall. */
  silenceWatches(): void {
    for (const w of this.watches) w.silent = true;
  }

  /** Destroys the sockets of open pod watches: the client sees a connection reset mid-stream. */
  resetWatches(): void {
    for (const w of [...this.watches]) {
      this.watches.delete(w);
      this.clearWatchTimers(w);
      w.res.socket?.destroy();
    }
  }

  openWatches(): number {
    return [...this.watches].filter((w) => !w.silent).length;
  }

  // ---------- test controls: access ----------
  forbid(resource: Resource, token = '*'): void { this.forbidden.add(`${resource}|${token}`); }
  allow(resource: Resource, token = '*'): void { this.forbidden.delete(`${resource}|${token}`); }

  /** Partitions one client (by its bearer token, or a user-agent prefix): 'refuse' resets each connection, 'hang' never answers. */
  partition(token: string, mode: 'refuse' | 'hang'): void {
    this.partitions.set(token, mode);
    // A partition also cuts what is already flowing (an open watch of that client).
    for (const w of [...this.watches]) if (w.token === token) { this.watches.delete(w); this.clearWatchTimers(w); w.res.socket?.destroy(); }
  }

  heal(token: string): void {
    this.partitions.delete(token);
    for (const res of [...this.hung]) if ((res as any).__token === token) { this.hung.delete(res); res.socket?.destroy(); }
  }

  // ---------- test controls: stored objects ----------
  getLease(namespace: string, name: string): Obj | undefined {
    const l = this.leaseStore.get(`${namespace}/${name}`);
    return l && structuredClone(l);
  }

  leases(): Obj[] { return [...this.leaseStore.values()].map((l) => structuredClone(l)); }
  events(): Obj[] { return this.eventStore.map((e) => structuredClone(e)); }
  resourceVersion(): string { return String(this.rv); }

  // ---------- internals ----------
  private goneStatus(): Obj {
    return status(410, 'Expired', `too old resource version: ${this.compactedRv - 1} (${this.compactedRv})`);
  }

  private record(type: HistoryEntry['type'], obj: Obj, previous: Obj | null): void {
    const entry: HistoryEntry = { rv: this.rv, type, object: structuredClone(obj), previous: previous && structuredClone(previous) };
    this.history.push(entry);
    for (const w of this.watches) this.deliver(w, entry);
  }

  private deliver(w: WatchConn, e: HistoryEntry): void {
    if (w.silent) return;
    if (w.namespace && e.object.metadata.namespace !== w.namespace) return;
    const now = matches(w.selector, e.object.metadata.labels);
    const before = e.previous ? matches(w.selector, e.previous.metadata.labels) : false;
    let type: string | null = null;
    if (e.type === 'ADDED') type = now ? 'ADDED' : null;
    else if (e.type === 'DELETED') type = before ? 'DELETED' : null;
    else if (now && before) type = 'MODIFIED';
    else if (now) type = 'ADDED';
    else if (before) type = 'DELETED';
    if (type) this.send(w, { type, object: { kind: 'Pod', apiVersion: 'v1', ...e.object } });
  }

  private send(w: WatchConn, event: Obj): void {
    if (!w.res.writableEnded && !w.res.destroyed) w.res.write(JSON.stringify(event) + '\n');
  }

  private clearWatchTimers(w: WatchConn): void {
    if (w.bookmarkTimer) clearInterval(w.bookmarkTimer);
    if (w.endTimer) clearTimeout(w.endTimer);
  }

  private endWatch(w: WatchConn): void {
    this.watches.delete(w);
    this.clearWatchTimers(w);
    if (!w.res.writableEnded) w.res.end();
  }

  private json(res: ServerResponse, code: number, body: Obj): void {
    (res as any).__status = code;
    res.writeHead(code, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  }

  private async readBody(req: IncomingMessage): Promise<Obj | string> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    try {
      const v = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      return v && typeof v === 'object' && !Array.isArray(v) ? v : 'the body is not a JSON object';
    } catch (e) {
      return `couldn't get version/kind; json parse error: ${(e as Error).message}`;
    }
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const auth = req.headers.authorization ?? '';
    const token = auth.startsWith('Bearer ') ? auth.slice(7) : '';
    const userAgent = String(req.headers['user-agent'] ?? '');
    const u = new URL(req.url ?? '/', 'https://x');
    const rec: RequestRecord = { method: req.method ?? 'GET', path: u.pathname + u.search, token, userAgent, status: 0 };
    this.requests.push(rec);
    (res as any).__token = token;
    res.on('finish', () => { rec.status = (res as any).__status ?? res.statusCode; });
    for (const [who, mode] of this.partitions) {
      if (who === token || (who && userAgent.startsWith(who))) {
        if (mode === 'refuse') { req.socket.destroy(); return; }
        this.hung.add(res);
        return;
      }
    }
    if (!token) return this.json(res, 401, status(401, 'Unauthorized', 'Unauthorized'));
    this.route(req, res, u, token).catch((e) => this.json(res, 500, status(500, 'InternalError', String(e))));
  }

  private isForbidden(resource: Resource, token: string): boolean {
    return this.forbidden.has(`${resource}|*`) || this.forbidden.has(`${resource}|${token}`);
  }

  private forbid403(res: ServerResponse, resource: Resource, group: string, verb: string, namespace: string | null, token: string): void {
    const where = namespace ? ` in the namespace "${namespace}"` : ' at the cluster scope';
    this.json(res, 403, status(403, 'Forbidden', `${resource}${group ? '.' + group : ''} is forbidden: User "token:${token.slice(0, 6)}…" cannot ${verb} resource "${resource}" in API group "${group}"${where}`, { kind: resource }));
  }

  private async route(req: IncomingMessage, res: ServerResponse, u: URL, token: string): Promise<void> {
    const path = u.pathname;
    const method = req.method ?? 'GET';
    let m: RegExpMatchArray | null;
    if ((m = path.match(/^\/api\/v1\/(?:namespaces\/([^/]+)\/)?pods$/)) && method === 'GET') {
      const ns = m[1] ? decodeURIComponent(m[1]) : null;
      const watch = u.searchParams.get('watch') === 'true' || u.searchParams.get('watch') === '1';
      if (this.isForbidden('pods', token)) return this.forbid403(res, 'pods', '', watch ? 'watch' : 'list', ns, token);
      return watch ? this.watchPods(res, u, ns, token) : this.listPods(res, u, ns);
    }
    if ((m = path.match(/^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)$/)) && method === 'GET') {
      if (this.isForbidden('pods', token)) return this.forbid403(res, 'pods', '', 'get', m[1]!, token);
      const p = this.pods.get(`${m[1]}/${m[2]}`);
      if (!p) return this.json(res, 404, status(404, 'NotFound', `pods "${m[2]}" not found`, { name: m[2], kind: 'pods' }));
      return this.json(res, 200, { kind: 'Pod', apiVersion: 'v1', ...p });
    }
    if ((m = path.match(/^\/apis\/coordination\.k8s\.io\/v1\/namespaces\/([^/]+)\/leases(?:\/([^/]+))?$/))) {
      if (this.isForbidden('leases', token)) return this.forbid403(res, 'leases', 'coordination.k8s.io', method.toLowerCase(), m[1]!, token);
      return this.leaseRoute(req, res, method, decodeURIComponent(m[1]!), m[2] ? decodeURIComponent(m[2]) : null);
    }
    if ((m = path.match(/^\/api\/v1\/namespaces\/([^/]+)\/events(?:\/([^/]+))?$/))) {
      if (this.isForbidden('events', token)) return this.forbid403(res, 'events', '', method === 'POST' ? 'create' : method.toLowerCase(), m[1]!, token);
      return this.eventRoute(req, res, method, decodeURIComponent(m[1]!), m[2] ? decodeURIComponent(m[2]) : null, 'v1', '');
    }
    if ((m = path.match(/^\/apis\/events\.k8s\.io\/v1\/namespaces\/([^/]+)\/events(?:\/([^/]+))?$/))) {
      if (this.isForbidden('events', token)) return this.forbid403(res, 'events', 'events.k8s.io', method === 'POST' ? 'create' : method.toLowerCase(), m[1]!, token);
      return this.eventRoute(req, res, method, decodeURIComponent(m[1]!), m[2] ? decodeURIComponent(m[2]) : null, 'events.k8s.io/v1', 'events.k8s.io');
    }
    this.json(res, 404, status(404, 'NotFound', 'the server could not find the requested resource'));
  }

  private listPods(res: ServerResponse, u: URL, ns: string | null): void {
    const sel = parseSelector(u.searchParams.get('labelSelector'));
    if (typeof sel === 'string') return this.json(res, 400, status(400, 'BadRequest', sel));
    const all = [...this.pods.entries()].filter(([, p]) => (!ns || p.metadata.namespace === ns) && matches(sel, p.metadata.labels)).sort(([a], [b]) => (a < b ? -1 : 1));
    const limit = Number(u.searchParams.get('limit') ?? 0);
    const cont = u.searchParams.get('continue');
    let start = 0;
    let listRv = this.rv;
    if (cont) {
      let c: { rv: number; after: string };
      try { c = JSON.parse(Buffer.from(cont, 'base64url').toString('utf8')); } catch { return this.json(res, 400, status(400, 'BadRequest', 'continue key is not valid')); }
      if (c.rv < this.compactedRv) return this.json(res, 410, status(410, 'Expired', 'The provided continue parameter is too old to display a consistent list result.'));
      listRv = c.rv;
      start = all.findIndex(([k]) => k > c.after);
      if (start < 0) start = all.length;
    }
    const page = limit > 0 ? all.slice(start, start + limit) : all.slice(start);
    const rest = all.length - start - page.length;
    const metadata: Obj = { resourceVersion: String(listRv) };
    if (rest > 0) {
      metadata.continue = Buffer.from(JSON.stringify({ rv: listRv, after: page[page.length - 1]![0] })).toString('base64url');
      metadata.remainingItemCount = rest;
    }
    this.json(res, 200, { kind: 'PodList', apiVersion: 'v1', metadata, items: page.map(([, p]) => p) });
  }

  private watchPods(res: ServerResponse, u: URL, ns: string | null, token: string): void {
    const sel = parseSelector(u.searchParams.get('labelSelector'));
    if (typeof sel === 'string') return this.json(res, 400, status(400, 'BadRequest', sel));
    (res as any).__status = 200;
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    res.flushHeaders();
    const w: WatchConn = { res, namespace: ns, selector: sel, silent: false, token, bookmarkTimer: null, endTimer: null };
    const rvParam = u.searchParams.get('resourceVersion');
    if (rvParam && rvParam !== '0') {
      const from = Number(rvParam);
      if (!Number.isInteger(from) || from < this.compactedRv) {
        this.send(w, { type: 'ERROR', object: this.goneStatus() });
        res.end();
        return;
      }
      this.watches.add(w);
      for (const e of this.history) if (e.rv > from) this.deliver(w, e);
    } else {
      this.watches.add(w);
      for (const p of this.pods.values()) {
        if ((!ns || p.metadata.namespace === ns) && matches(sel, p.metadata.labels)) this.send(w, { type: 'ADDED', object: { kind: 'Pod', apiVersion: 'v1', ...p } });
      }
    }
    if (u.searchParams.get('allowWatchBookmarks') === 'true') {
      w.bookmarkTimer = setInterval(() => {
        if (!w.silent) this.send(w, { type: 'BOOKMARK', object: { kind: 'Pod', apiVersion: 'v1', metadata: { resourceVersion: String(this.rv), annotations: { 'k8s.io/initial-events-end': 'true' } } } });
      }, this.bookmarkIntervalMs);
    }
    const timeout = Number(u.searchParams.get('timeoutSeconds') ?? 0);
    if (timeout > 0) w.endTimer = setTimeout(() => { if (!w.silent) this.endWatch(w); }, timeout * 1000);
    res.on('close', () => { this.watches.delete(w); this.clearWatchTimers(w); });
  }

  private async leaseRoute(req: IncomingMessage, res: ServerResponse, method: string, ns: string, name: string | null): Promise<void> {
    const notFound = (n: string) => this.json(res, 404, status(404, 'NotFound', `leases.coordination.k8s.io "${n}" not found`, { name: n, group: 'coordination.k8s.io', kind: 'leases' }));
    if (method === 'GET' && name) {
      const l = this.leaseStore.get(`${ns}/${name}`);
      return l ? this.json(res, 200, l) : notFound(name);
    }
    if (method === 'GET') return this.json(res, 200, { kind: 'LeaseList', apiVersion: 'coordination.k8s.io/v1', metadata: { resourceVersion: String(this.rv) }, items: [...this.leaseStore.values()].filter((l) => l.metadata.namespace === ns).map(({ kind: _k, apiVersion: _a, ...l }) => l) });
    if (method === 'DELETE' && name) {
      if (!this.leaseStore.delete(`${ns}/${name}`)) return notFound(name);
      return this.json(res, 200, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details: { name, group: 'coordination.k8s.io', kind: 'leases' } });
    }
    if (method !== 'POST' && method !== 'PUT') return this.json(res, 405, status(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource'));
    const body = await this.readBody(req);
    if (typeof body === 'string') return this.json(res, 400, status(400, 'BadRequest', body));
    const spec: Obj = body.spec ?? {};
    for (const f of ['acquireTime', 'renewTime']) {
      const err = microTimeError('Lease', spec[f]);
      if (err) return this.json(res, 400, status(400, 'BadRequest', err));
    }
    const meta: Obj = body.metadata ?? {};
    const objName = meta.name ?? name;
    if (!objName) return this.json(res, 422, status(422, 'Invalid', 'Lease.coordination.k8s.io "" is invalid: metadata.name: Required value: name or generateName is required'));
    if (meta.namespace && meta.namespace !== ns) return this.json(res, 400, status(400, 'BadRequest', 'the namespace of the provided object does not match the namespace sent on the request'));
    const cleanSpec: Obj = {};
    for (const f of LEASE_SPEC_FIELDS) if (spec[f] !== undefined && spec[f] !== null) cleanSpec[f] = spec[f];
    const key = `${ns}/${objName}`;
    const existing = this.leaseStore.get(key);
    if (method === 'POST') {
      if (name) return this.json(res, 405, status(405, 'MethodNotAllowed', 'POST to a named lease is not allowed'));
      if (existing) return this.json(res, 409, status(409, 'AlreadyExists', `leases.coordination.k8s.io "${objName}" already exists`, { name: objName, group: 'coordination.k8s.io', kind: 'leases' }));
      const lease = { kind: 'Lease', apiVersion: 'coordination.k8s.io/v1', metadata: { ...pickMeta(meta), name: objName, namespace: ns, uid: randomUUID(), resourceVersion: String(++this.rv), creationTimestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z') }, spec: cleanSpec };
      this.leaseStore.set(key, lease);
      return this.json(res, 201, lease);
    }
    if (!name || objName !== name) return this.json(res, 400, status(400, 'BadRequest', 'the name of the object does not match the name on the URL'));
    if (!existing) return notFound(name);
    if (!meta.resourceVersion) return this.json(res, 422, status(422, 'Invalid', `Lease.coordination.k8s.io "${name}" is invalid: metadata.resourceVersion: Invalid value: 0x0: must be specified for an update`));
    if (String(meta.resourceVersion) !== existing.metadata.resourceVersion) {
      return this.json(res, 409, status(409, 'Conflict', `Operation cannot be fulfilled on leases.coordination.k8s.io "${name}": the object has been modified; please apply your changes to the latest version and try again`, { name, group: 'coordination.k8s.io', kind: 'leases' }));
    }
    const lease = { kind: 'Lease', apiVersion: 'coordination.k8s.io/v1', metadata: { ...pickMeta(meta), name, namespace: ns, uid: existing.metadata.uid, creationTimestamp: existing.metadata.creationTimestamp, resourceVersion: String(++this.rv) }, spec: cleanSpec };
    this.leaseStore.set(key, lease);
    this.json(res, 200, lease);
  }

  private async eventRoute(req: IncomingMessage, res: ServerResponse, method: string, ns: string, name: string | null, apiVersion: string, group: string): Promise<void> {
    const mine = () => this.eventStore.filter((e) => e.apiVersion === apiVersion && e.metadata.namespace === ns);
    if (method === 'GET' && !name) {
      return this.json(res, 200, { kind: 'EventList', apiVersion, metadata: { resourceVersion: String(this.rv) }, items: mine().map(({ kind: _k, apiVersion: _a, ...e }) => e) });
    }
    if (method === 'GET' && name) {
      const e = mine().find((x) => x.metadata.name === name);
      return e ? this.json(res, 200, e) : this.json(res, 404, status(404, 'NotFound', `events${group ? '.' + group : ''} "${name}" not found`));
    }
    if (method !== 'POST' && method !== 'PUT') return this.json(res, 405, status(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource'));
    const body = await this.readBody(req);
    if (typeof body === 'string') return this.json(res, 400, status(400, 'BadRequest', body));
    const err = microTimeError('Event', body.eventTime);
    if (err) return this.json(res, 400, status(400, 'BadRequest', err));
    if (apiVersion === 'events.k8s.io/v1' && !body.eventTime) return this.json(res, 422, status(422, 'Invalid', 'Event.events.k8s.io "" is invalid: eventTime: Required value'));
    const meta: Obj = body.metadata ?? {};
    const objName = meta.name ?? (meta.generateName ? `${meta.generateName}${randomUUID().slice(0, 5)}` : null);
    if (!objName) return this.json(res, 422, status(422, 'Invalid', 'Event "" is invalid: metadata.name: Required value: name or generateName is required'));
    if (meta.namespace && meta.namespace !== ns) return this.json(res, 400, status(400, 'BadRequest', 'the namespace of the provided object does not match the namespace sent on the request'));
    const idx = this.eventStore.findIndex((e) => e.apiVersion === apiVersion && e.metadata.namespace === ns && e.metadata.name === objName);
    const { kind: _k, apiVersion: _a, metadata: _m, ...rest } = body;
    const ev = { kind: 'Event', apiVersion, metadata: { ...pickMeta(meta), name: objName, namespace: ns, uid: randomUUID(), resourceVersion: String(++this.rv), creationTimestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z') }, ...rest };
    if (method === 'POST') {
      if (name) return this.json(res, 405, status(405, 'MethodNotAllowed', 'POST to a named event is not allowed'));
      if (idx >= 0) return this.json(res, 409, status(409, 'AlreadyExists', `events "${objName}" already exists`));
      this.eventStore.push(ev);
      return this.json(res, 201, ev);
    }
    if (idx < 0) return this.json(res, 404, status(404, 'NotFound', `events "${name}" not found`));
    ev.metadata.uid = this.eventStore[idx]!.metadata.uid;
    this.eventStore[idx] = ev;
    this.json(res, 200, ev);
  }
}

function pickMeta(meta: Obj): Obj {
  const out: Obj = {};
  for (const f of ['labels', 'annotations', 'ownerReferences']) if (meta[f]) out[f] = meta[f];
  return out;
}

export async function startKubeApiServer(opts: KubeApiServerOptions = {}): Promise<KubeApiServer> {
  const s = new KubeApiServer(opts);
  await s.listen();
  return s;
}

/**
 * Writes a kubeconfig for `server` into `dir` and returns its path. TLS is verified against the
 * server's self-signed certificate (certificate-authority-data), never skipped. Each client should get
 * its own `token`: forbid() and partition() select clients by it.
 */
export function writeKubeconfig(server: KubeApiServer, dir: string, o: { token: string; namespace?: string; name?: string }): string {
  const name = o.name ?? o.token;
  const file = join(dir, `kubeconfig-${name.replace(/[^\w.-]/g, '_')}.yaml`);
  const ca = Buffer.from(server.caPem).toString('base64');
  writeFileSync(file, [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: test',
    '  cluster:',
    `    server: ${server.url}`,
    `    certificate-authority-data: ${ca}`,
    'users:',
    `- name: ${JSON.stringify(name)}`,
    '  user:',
    `    token: ${JSON.stringify(o.token)}`,
    'contexts:',
    '- name: test',
    '  context:',
    '    cluster: test',
    `    user: ${JSON.stringify(name)}`,
    `    namespace: ${o.namespace ?? 'default'}`,
    'current-context: test',
    '',
  ].join('\n'));
  return file;
}
