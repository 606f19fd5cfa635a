// A router for a server with a few fixed routes, on node:http. The agent uses it instead of express:
// express and its ~60 modules cost a process about 12 MB of RSS for its whole life (docs/agent.md,
// Memory), for routing that is a table lookup here. It keeps what callers of the agent saw from
// express: paths matched case-insensitively with an optional trailing slash, HEAD served by the GET
// route, the query parsed by node:querystring (a repeated key gives an array), every unknown method or
// path answered by the not-found step, and a step that throws or rejects answered 500.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parse as parseQuery, type ParsedUrlQuery } from 'node:querystring';

export interface RouteRequest extends IncomingMessage {
  query: ParsedUrlQuery;
  /** Set by a body-reading step (json-body.ts); undefined when the request has no JSON body. */
  body?: unknown;
  /** What earlier steps found out for later ones (who the caller is). */
  locals: Record<string, unknown>;
}

/** One step of a route. The route ends at the first step that answers (sends the response head). */
export type RouteStep = (req: RouteRequest, res: ServerResponse) => void | Promise<void>;

export interface RouteEntry {
  method: string;
  path: string;
}

export class Router {
  private readonly table = new Map<string, RouteStep[]>();
  private readonly entries: RouteEntry[] = [];

  constructor(
    private readonly notFound: RouteStep,
    /** Answers a step's throw or rejection (nothing has been sent yet when it is called). */
    private readonly onError: (err: unknown, res: ServerResponse) => void,
  ) {}

  get(path: string, ...steps: RouteStep[]): this {
    return this.add('GET', path, steps);
  }

  post(path: string, ...steps: RouteStep[]): this {
    return this.add('POST', path, steps);
  }

  /** Every method + path served (the auth matrix test checks it against its table). */
  routes(): RouteEntry[] {
    return [...this.entries];
  }

  /** The request listener for http.createServer. */
  readonly handle = (incoming: IncomingMessage, res: ServerResponse): void => {
    const req = incoming as RouteRequest;
    const url = originForm(req.url ?? '/');
    const q = url.indexOf('?');
    req.query = parseQuery(q < 0 ? '' : url.slice(q + 1));
    req.locals = {};
    const method = req.method === 'HEAD' ? 'GET' : (req.method ?? '');
    const steps = this.table.get(`${method} ${routeKey(q < 0 ? url : url.slice(0, q))}`) ?? [this.notFound];
    void this.run(steps, req, res);
  };

  private add(method: string, path: string, steps: RouteStep[]): this {
    this.table.set(`${method} ${routeKey(path)}`, steps);
    this.entries.push({ method, path });
    return this;
  }

  private async run(steps: RouteStep[], req: RouteRequest, res: ServerResponse): Promise<void> {
    try {
      for (const step of steps) {
        await step(req, res);
        if (res.headersSent) return;
      }
    } catch (err) {
      if (!res.headersSent) this.onError(err, res);
      else res.destroy();
    }
  }
}

/**
 * The path and query of a request target in the absolute form (`http://host/path?q`, which a client
 * sends through a forward proxy, RFC 9112 3.2.2): express routed it by its path, as it routes the usual
 * origin form (`/path?q`). Anything else is left as it is.
 */
function originForm(url: string): string {
  const m = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i.exec(url);
  if (!m) return url;
  const rest = url.slice(m[0].length);
  return rest.startsWith('/') ? rest : `/${rest}`;
}

/** Case-insensitive, one trailing slash optional (express's default matching). */
function routeKey(path: string): string {
  const p = path.toLowerCase();
  return p.length > 1 && p.endsWith('/') ? p.slice(0, -1) : p;
}

/** express's res.status(status).json(body). */
export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(text));
  res.end(text);
}
