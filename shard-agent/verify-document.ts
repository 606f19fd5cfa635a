// Everything the agent can check about a document before it touches anything: its shape, that it is
// for this shard, that every file's sha256 and the document hash are right, and that every file name
// maps to a safe place. A document that passes is a plan of absolute targets.
import { DOCUMENT_API_VERSION, MAIN_CONFIG_FILE, hashFiles, sha256Hex, type DesiredDocument } from '../core/document/desired-document.ts';
import { targetPathFor, UnsafePathError, type ConfigLayout } from './config-paths.ts';

export class DocumentRejected extends Error {
  constructor(message: string, readonly httpStatus: number) {
    super(message);
  }
}

export interface PlannedFile {
  path: string;
  target: string;
  content: string;
  sha256: string;
}

export interface VerifiedDocument {
  doc: DesiredDocument;
  files: PlannedFile[];
}

const MAX_FILES = 1000;

export function verifyDocument(input: unknown, expectedShard: string, layout: ConfigLayout): VerifiedDocument {
  const bad = (msg: string): never => {
    throw new DocumentRejected(msg, 400);
  };
  if (typeof input !== 'object' || input === null || Array.isArray(input)) bad('body must be a JSON desired document');
  const doc = input as DesiredDocument;
  if (doc.apiVersion !== DOCUMENT_API_VERSION) bad(`apiVersion must be ${DOCUMENT_API_VERSION}`);
  if (typeof doc.shard !== 'string' || doc.shard !== expectedShard) bad(`document is for shard ${JSON.stringify(doc.shard)}, this agent serves ${JSON.stringify(expectedShard)}`);
  if (typeof doc.revision !== 'string' || doc.revision.length === 0 || doc.revision.length > 200) bad('revision must be a non-empty string');
  if (!Number.isSafeInteger(doc.generation) || doc.generation < 0) bad('generation must be a non-negative integer');
  if (doc.term !== undefined && (!Number.isSafeInteger(doc.term) || doc.term < 0)) bad('term must be a non-negative integer when present');
  if (typeof doc.hash !== 'string' || !/^[0-9a-f]{64}$/.test(doc.hash)) bad('hash must be 64 lowercase hex digits');
  if (doc.owners !== undefined && (typeof doc.owners !== 'object' || doc.owners === null || Array.isArray(doc.owners))) bad('owners must be an object');
  if (!Array.isArray(doc.files) || doc.files.length === 0) bad('files must be a non-empty array');
  if (doc.files.length > MAX_FILES) bad(`more than ${MAX_FILES} files`);

  const seen = new Set<string>();
  const files: PlannedFile[] = [];
  for (const f of doc.files) {
    if (typeof f !== 'object' || f === null || typeof f.path !== 'string' || typeof f.content !== 'string' || typeof f.sha256 !== 'string') bad('each file needs string path, content and sha256');
    if (seen.has(f.path)) bad(`file ${JSON.stringify(f.path)} appears twice`);
    seen.add(f.path);
    let target: string;
    try {
      target = targetPathFor(layout, f.path);
    } catch (err) {
      if (err instanceof UnsafePathError) bad(err.message);
      throw err;
    }
    const actual = sha256Hex(f.content);
    if (actual !== f.sha256) bad(`sha256 mismatch for ${JSON.stringify(f.path)}: document says ${f.sha256.slice(0, 12)}…, content is ${actual.slice(0, 12)}…`);
    files.push({ path: f.path, target: target!, content: f.content, sha256: actual });
  }
  if (!seen.has(MAIN_CONFIG_FILE)) bad(`document has no ${MAIN_CONFIG_FILE}`);
  const expected = hashFiles(files);
  if (expected !== doc.hash) bad(`document hash mismatch: document says ${doc.hash.slice(0, 12)}…, files hash to ${expected.slice(0, 12)}…`);
  return { doc: { ...doc, owners: doc.owners ?? {} }, files };
}
