// Reads a JSON request body into req.body, as express.json({ limit, strict: true }) did for the
// agent (body-parser 2), with the same answers: a request without a body, or whose Content-Type is not
// application/json, leaves req.body undefined; an empty JSON body is {}; a body that is not a JSON
// object or array is 400 "request body is not valid JSON"; past the limit, 413 "request body too
// large" once the rest has been read and dropped; gzip, deflate and br bodies are inflated (the limit
// counts inflated bytes). One difference: charsets other than UTF-8 and UTF-16LE are refused (415)
// rather than decoded by iconv; JSON is UTF-8 (RFC 8259) and no promshard client sends anything else.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { sendJson, type RouteRequest, type RouteStep } from './router.ts';

class BodyError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** '8mb' / 65536 → bytes (the sizes --max-body accepts). */
export function sizeInBytes(limit: string | number): number {
  if (typeof limit === 'number') return limit;
  const m = /^(\d+)(b|kb|mb|gb)?$/i.exec(limit.trim());
  if (!m) return Number.POSITIVE_INFINITY;
  return Number(m[1]) * { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 }[(m[2] ?? 'b').toLowerCase() as 'b' | 'kb' | 'mb' | 'gb'];
}

/** The route step: req.body set, or the request answered with { error } and the route ended. */
export function jsonBody(limit: string | number): RouteStep {
  const max = sizeInBytes(limit);
  return async (req, res) => {
    try {
      req.body = await readJsonBody(req, max);
    } catch (err) {
      if (!(err instanceof BodyError)) throw err;
      sendJson(res, err.status, { error: err.message });
    }
  };
}

async function readJsonBody(req: RouteRequest, max: number): Promise<unknown> {
  const declared = req.headers['content-length'];
  const hasBody = req.headers['transfer-encoding'] !== undefined || (declared !== undefined && !Number.isNaN(Number(declared)));
  const contentType = req.headers['content-type'] ?? '';
  if (!hasBody || contentType.split(';')[0].trim().toLowerCase() !== 'application/json') return undefined;
  const charset = (/;\s*charset\s*=\s*"?([^";\s]*)"?/i.exec(contentType)?.[1] ?? 'utf-8').toLowerCase();
  const decoding = charset === 'utf-8' ? 'utf8' : charset === 'utf-16le' ? 'utf16le' : null;
  if (!decoding) throw new BodyError(415, `unsupported charset "${charset.toUpperCase()}"`);
  // iconv (body-parser) drops a byte-order mark; JSON.parse would refuse it.
  const text = (await readAtMost(req, max, await inflaterFor(req), decoding)).replace(/^\uFEFF/, '');
  if (text.length === 0) return {};
  const first = /^[\x20\x09\x0a\x0d]*(.?)/.exec(text)![1];
  if (first !== '{' && first !== '[') throw new BodyError(400, 'request body is not valid JSON');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new BodyError(400, 'request body is not valid JSON');
  }
}

/** node:zlib is loaded for a compressed body only: no promshard client sends one, and it costs RSS. */
async function inflaterFor(req: IncomingMessage): Promise<(() => Readable & NodeJS.WritableStream) | null> {
  const encoding = (req.headers['content-encoding'] ?? 'identity').toLowerCase();
  if (encoding === 'identity') return null;
  if (!['gzip', 'deflate', 'br'].includes(encoding)) throw new BodyError(415, `unsupported content encoding "${encoding}"`);
  const zlib = await import('node:zlib');
  return encoding === 'gzip' ? zlib.createGunzip : encoding === 'deflate' ? zlib.createInflate : zlib.createBrotliDecompress;
}

/**
 * The whole body (inflated). Past the limit, or when inflating fails, the rest of the upload is still
 * read and dropped and the BodyError comes once the request has ended, so that the client (still
 * sending) reads the answer instead of a reset connection.
 */
function readAtMost(req: IncomingMessage, max: number, inflate: (() => Readable & NodeJS.WritableStream) | null, decoding: 'utf8' | 'utf16le'): Promise<string> {
  return new Promise((resolve, reject) => {
    const source: Readable = inflate ? req.pipe(inflate()) : req;
    // Decoded chunk by chunk: a megabyte document never sits in one more large Buffer (malloc'd
    // memory the allocator tends to keep after a burst of applies) before becoming a string.
    const decoder = new StringDecoder(decoding);
    let text = '';
    let size = 0;
    let failure: BodyError | null = null;
    let settled = false;
    const settle = () => {
      if (settled) return;
      settled = true;
      if (failure) reject(failure);
      else resolve(text + decoder.end());
    };
    const fail = (err: BodyError) => {
      failure ??= err;
      text = '';
      if (source !== req) {
        req.unpipe();
        source.destroy();
        req.resume();
      }
      if (req.complete) settle();
    };
    source.on('data', (chunk: Buffer) => {
      if (failure) return;
      size += chunk.byteLength;
      if (size > max) fail(new BodyError(413, 'request body too large'));
      else text += decoder.write(chunk);
    });
    source.on('end', settle);
    source.on('error', (err) => fail(new BodyError(400, err.message)));
    req.on('end', () => {
      if (failure) settle();
    });
    // The client went away mid-body: no answer will reach it, but the route must end.
    req.on('close', () => {
      if (req.complete) return;
      fail(new BodyError(400, 'request aborted'));
      settle();
    });
  });
}

/** 413 at once when the declared Content-Length is over the limit (see shard-agent/agent-server.ts). */
export function refuseDeclaredOversize(limit: string | number): RouteStep {
  const max = sizeInBytes(limit);
  return (req: IncomingMessage, res: ServerResponse) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > max) {
      res.setHeader('Connection', 'close');
      sendJson(res, 413, { error: 'request body too large' });
    }
  };
}
