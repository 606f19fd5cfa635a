// Reads git objects through two long-lived `git cat-file` processes (`--batch` for contents,
// `--batch-check` for type and size), so that following a branch costs no process spawn per question:
// each git command spawned from the controller (a large heap to fork, git's start-up) cost 3–10 ms,
// more under load, and seven of them per commit were most of its webhook → push latency. Objects and refs written after the processes
// started (a later fetch, a gc that repacked) are found: git re-reads refs and re-scans packs on a miss.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';

export interface GitObject {
  oid: string;
  type: string;
  bytes: Buffer;
}

export interface GitObjectInfo {
  oid: string;
  type: string;
  size: number;
}

export interface TreeEntry {
  mode: string;
  name: string;
  oid: string;
}

interface Pending {
  resolve(v: { header: string; body?: Buffer } | null): void;
  reject(e: Error): void;
}

/** One `git cat-file --batch[-check]` process answering requests in order. */
class BatchProcess {
  private child: ChildProcessWithoutNullStreams | null = null;
  private pending: Pending[] = [];
  private buf: Buffer = Buffer.alloc(0);
  private stderr = '';

  constructor(
    private readonly gitDir: string,
    private readonly mode: '--batch' | '--batch-check',
  ) {}

  request(name: string): Promise<{ header: string; body?: Buffer } | null> {
    // The whole line is the object name: a newline would desynchronise every later answer.
    if (/[\n\r\0]/.test(name)) return Promise.reject(new Error(`invalid git object name ${JSON.stringify(name)}`));
    const child = this.child ?? this.start();
    return new Promise((resolve, reject) => {
      this.pending.push({ resolve, reject });
      if (this.pending.length === 1) this.setRef(true);
      child.stdin.write(name + '\n');
    });
  }

  private start(): ChildProcessWithoutNullStreams {
    const child = spawn('git', ['--git-dir', this.gitDir, 'cat-file', this.mode], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child = child;
    this.buf = Buffer.alloc(0);
    this.stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      this.buf = this.buf.length ? Buffer.concat([this.buf, c]) : c;
      this.drain();
    });
    child.stderr.on('data', (c: Buffer) => (this.stderr = (this.stderr + c.toString()).slice(-2000)));
    const fail = (why: string) => {
      if (this.child !== child) return;
      this.child = null;
      const pending = this.pending;
      this.pending = [];
      const err = new Error(`git cat-file ${this.mode} ${why}${this.stderr.trim() ? `: ${this.stderr.trim()}` : ''}`);
      pending.forEach((p) => p.reject(err));
    };
    child.on('error', (e) => fail(`failed: ${e.message}`));
    child.on('close', (code, signal) => fail(`exited (${signal ?? code})`));
    child.stdin.on('error', () => undefined); // reported through 'close'
    this.setRef(false, child);
    return child;
  }

  /** An idle reader must not keep the process alive; one with requests in flight must. */
  private setRef(on: boolean, child = this.child): void {
    if (!child) return;
    for (const h of [child, child.stdin, child.stdout, child.stderr] as { ref(): void; unref(): void }[]) on ? h.ref() : h.unref();
  }

  private drain(): void {
    while (this.pending.length > 0) {
      const nl = this.buf.indexOf(0x0a);
      if (nl === -1) return;
      const header = this.buf.subarray(0, nl).toString();
      if (/ (missing|ambiguous)$/.test(header)) {
        this.buf = this.buf.subarray(nl + 1);
        this.pending.shift()!.resolve(null);
        continue;
      }
      if (this.mode === '--batch-check') {
        this.buf = this.buf.subarray(nl + 1);
        this.pending.shift()!.resolve({ header });
        continue;
      }
      const size = Number(header.split(' ')[2]);
      if (this.buf.length < nl + 1 + size + 1) return; // the rest of this object is still coming
      const body = Buffer.from(this.buf.subarray(nl + 1, nl + 1 + size)); // a copy: the chunk is reused below
      this.buf = this.buf.subarray(nl + 1 + size + 1);
      this.pending.shift()!.resolve({ header, body });
    }
    if (this.pending.length === 0) this.setRef(false);
  }

  close(): void {
    const child = this.child;
    this.child = null;
    if (!child) return;
    const pending = this.pending;
    this.pending = [];
    pending.forEach((p) => p.reject(new Error('git object reader closed')));
    child.stdin.end();
    child.kill();
  }
}

export class GitObjectReader {
  private readonly contents: BatchProcess;
  private readonly check: BatchProcess;

  constructor(readonly gitDir: string) {
    this.contents = new BatchProcess(gitDir, '--batch');
    this.check = new BatchProcess(gitDir, '--batch-check');
  }

  /** An object by any name git understands (`<sha>`, `<sha>:<path>`, `refs/heads/x^{commit}`); null when there is none. */
  async read(name: string): Promise<GitObject | null> {
    const r = await this.contents.request(name);
    if (!r) return null;
    const [oid, type] = r.header.split(' ');
    return { oid, type, bytes: r.body! };
  }

  /** Type and size without the contents; null when there is no such object. */
  async info(name: string): Promise<GitObjectInfo | null> {
    const r = await this.check.request(name);
    if (!r) return null;
    const [oid, type, size] = r.header.split(' ');
    return { oid, type, size: Number(size) };
  }

  /** The entries of a tree object. */
  async tree(oid: string): Promise<TreeEntry[]> {
    const o = await this.read(oid);
    if (!o || o.type !== 'tree') throw new Error(`git object ${oid} is not a tree`);
    return parseTree(o.bytes, oid.length / 2);
  }

  close(): void {
    this.contents.close();
    this.check.close();
  }
}

/** Git's binary tree format: `<mode> <name>\0<raw oid>` repeated. */
export function parseTree(bytes: Buffer, oidBytes: number): TreeEntry[] {
  const out: TreeEntry[] = [];
  let pos = 0;
  while (pos < bytes.length) {
    const sp = bytes.indexOf(0x20, pos);
    const nul = bytes.indexOf(0x00, sp);
    out.push({ mode: bytes.toString('latin1', pos, sp), name: bytes.toString('utf8', sp + 1, nul), oid: bytes.toString('hex', nul + 1, nul + 1 + oidBytes) });
    pos = nul + 1 + oidBytes;
  }
  return out;
}

export interface ParsedCommit {
  tree: string;
  parents: string[];
  /** Author name as recorded (no mailmap). */
  author: string;
  /** Committer time, ISO 8601 in UTC. */
  committedAt: string;
  /** First paragraph of the message folded into one line, as `git log --format=%s` prints it. */
  subject: string;
  /** The `encoding` header when the message is not UTF-8. */
  encoding?: string;
}

export function parseCommit(bytes: Buffer): ParsedCommit {
  const text = bytes.toString('utf8');
  const split = text.indexOf('\n\n');
  const head = split === -1 ? text : text.slice(0, split);
  const message = split === -1 ? '' : text.slice(split + 2);
  const c: ParsedCommit = { tree: '', parents: [], author: '', committedAt: '', subject: '' };
  for (const line of head.split('\n')) {
    if (line.startsWith(' ')) continue; // continuation of a multi-line header (gpgsig, mergetag)
    const sp = line.indexOf(' ');
    const key = line.slice(0, sp);
    const value = line.slice(sp + 1);
    if (key === 'tree') c.tree = value;
    else if (key === 'parent') c.parents.push(value);
    else if (key === 'author') c.author = /^(.*?) <[^>]*> /.exec(value)?.[1] ?? '';
    else if (key === 'committer') {
      const m = / (\d+) [+-]\d{4}$/.exec(value);
      if (m) c.committedAt = new Date(Number(m[1]) * 1000).toISOString();
    } else if (key === 'encoding') c.encoding = value;
  }
  const lines = message.split('\n');
  let i = 0;
  while (i < lines.length && lines[i].trim() === '') i++;
  const para: string[] = [];
  for (; i < lines.length && lines[i].trim() !== ''; i++) para.push(lines[i].trimEnd());
  c.subject = para.join(' ');
  return c;
}
