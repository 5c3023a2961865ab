/**
 * The archive container: gzip'd UTF-8 JSON lines. Line 1 is the manifest, line 2 its Ed25519
 * signature, then the records of each part in manifest order (pages, chunks, vectors). The
 * manifest holds each part's record count, byte length and SHA-256, so the signature covers every
 * byte: a changed, reordered, missing or extra line is refused before anything is written.
 */
import crypto from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import { z } from 'zod';

/** The container this code writes; readers refuse newer ones (see `decodeArchive`). */
export const ARCHIVE_FORMAT = 'twinmcp-archive';
export const ARCHIVE_FORMAT_VERSION = 1;

// Signed text = this prefix + the manifest line: a signature made for anything else (another
// format, another tool using the same key) never verifies here.
const SIGNING_CONTEXT = Buffer.from('twinmcp-archive-v1\n');

// gunzip refuses to inflate past this: ~4x the largest index measured (100k chunks, ~400 MB
// of JSON with 1,536-float vectors), and a bound on a hostile "zip bomb".
const MAX_INFLATED_BYTES = 2 * 1024 ** 3 - 1;

export const PART_NAMES = ['pages', 'chunks', 'vectors'] as const;
export type PartName = (typeof PART_NAMES)[number];

const EmbeddingInfo = z.object({
  provider: z.string(),
  model: z.string(),
  dimensions: z.number().int().nonnegative(),
  vectors: z.number().int().nonnegative(),
  cached: z.number().int().nonnegative(),
  tokens: z.number().nonnegative(),
  costUsd: z.number().nonnegative(),
  requests: z.number().int().nonnegative(),
  retries: z.number().int().nonnegative(),
  elapsedMs: z.number().int().nonnegative(),
});

const VersionInfo = z.object({
  version: z.string(),
  isLatest: z.boolean(),
  source: z.record(z.string(), z.unknown()),
  indexedAt: z.string().nullable(),
  pages: z.number().int().nonnegative(),
  snippets: z.number().int().nonnegative(),
  tokens: z.number().nonnegative(),
  embedding: EmbeddingInfo.nullable(),
});

/** What an archive holds, signed. */
export const Manifest = z.object({
  format: z.literal(ARCHIVE_FORMAT),
  formatVersion: z.number().int().positive(),
  twinmcpVersion: z.string(),
  createdAt: z.string(),
  library: z.object({
    id: z.string(),
    title: z.string(),
    description: z.string(),
    aliases: z.array(z.string()),
    source: z.record(z.string(), z.unknown()),
    ownerAccount: z.string().nullable(),
    trustScore: z.number(),
  }),
  versions: z.array(VersionInfo).min(1),
  parts: z.array(
    z.object({
      name: z.enum(PART_NAMES),
      records: z.number().int().nonnegative(),
      bytes: z.number().int().nonnegative(),
      sha256: z.string().regex(/^[0-9a-f]{64}$/),
    }),
  ),
});
export type Manifest = z.infer<typeof Manifest>;
export type VersionInfo = z.infer<typeof VersionInfo>;

/** A page of one version (`v` is the version label, '' = unversioned). */
export const PageRecord = z.object({
  v: z.string(),
  path: z.string(),
  url: z.string().nullable(),
  title: z.string(),
  contentHash: z.string(),
  etag: z.string().nullable(),
  lastModified: z.string().nullable(),
});
export type PageRecord = z.infer<typeof PageRecord>;

/** A chunk; its tsvector is not stored: import computes it from these fields, as indexing does. */
export const ChunkRecord = z.object({
  v: z.string(),
  path: z.string(),
  ordinal: z.number().int(),
  title: z.string(),
  breadcrumb: z.array(z.string()),
  anchor: z.string(),
  content: z.string(),
  code: z.array(z.object({ lang: z.string(), code: z.string() })),
  tokens: z.number().int().nonnegative(),
});
export type ChunkRecord = z.infer<typeof ChunkRecord>;

/** A chunk's vector, keyed by the SHA-256 of the chunk text (unique within a version). */
export const VectorRecord = z.object({
  v: z.string(),
  contentHash: z.string(),
  model: z.string(),
  /** pgvector's text form, `[0.1,0.2,…]`: exact round trip of the stored float4 values. */
  embedding: z.string().regex(/^\[[-+0-9.eE, ]*\]$/),
});
export type VectorRecord = z.infer<typeof VectorRecord>;

const Signature = z.object({
  alg: z.literal('ed25519'),
  /** SPKI DER, base64. */
  publicKey: z.string(),
  value: z.string(),
});

export interface ArchiveParts {
  pages: PageRecord[];
  chunks: ChunkRecord[];
  vectors: VectorRecord[];
}

/** Why an archive was refused; the CLI prints the message and exits with EXIT_ARCHIVE. */
export class ArchiveError extends Error {
  constructor(
    readonly reason: 'corrupt' | 'tampered' | 'untrusted' | 'unsupported' | 'incompatible',
    message: string,
  ) {
    super(message);
    this.name = 'ArchiveError';
  }
}

/** `SHA256:<base64>` of the SPKI DER of an Ed25519 public key, as printed by export. */
export function keyFingerprint(publicKey: crypto.KeyObject): string {
  const der = publicKey.export({ type: 'spki', format: 'der' });
  return `SHA256:${crypto.createHash('sha256').update(der).digest('base64').replace(/=+$/, '')}`;
}

function sha256Hex(data: Buffer): string {
  return crypto.createHash('sha256').update(data).digest('hex');
}

/** Builds and signs an archive; `manifest.parts` is filled in here. */
export function encodeArchive(
  manifest: Omit<Manifest, 'parts'>,
  parts: ArchiveParts,
  privateKey: crypto.KeyObject,
): Buffer {
  const bodies = PART_NAMES.map((name) => {
    const body = Buffer.from(parts[name].map((r) => `${JSON.stringify(r)}\n`).join(''), 'utf8');
    return { name, records: parts[name].length, body };
  });
  const full: Manifest = {
    ...manifest,
    parts: bodies.map((b) => ({
      name: b.name,
      records: b.records,
      bytes: b.body.length,
      sha256: sha256Hex(b.body),
    })),
  };
  const manifestLine = Buffer.from(JSON.stringify(full), 'utf8');
  const publicKey = crypto.createPublicKey(privateKey);
  const signature = {
    alg: 'ed25519',
    publicKey: publicKey.export({ type: 'spki', format: 'der' }).toString('base64'),
    value: crypto
      .sign(null, Buffer.concat([SIGNING_CONTEXT, manifestLine]), privateKey)
      .toString('base64'),
  };
  const newline = Buffer.from('\n');
  return gzipSync(
    Buffer.concat([
      manifestLine,
      newline,
      Buffer.from(JSON.stringify(signature), 'utf8'),
      newline,
      ...bodies.map((b) => b.body),
    ]),
  );
}

export interface DecodedArchive {
  manifest: Manifest;
  parts: ArchiveParts;
  /** Fingerprint of the key that signed it. */
  signer: string;
}

/**
 * Verifies and parses an archive. Refuses (ArchiveError) a file that is not a complete gzip
 * stream, a manifest whose signature fails, a signer not in `trusted`, a part whose bytes do not
 * match the signed hash, and a format newer than this code.
 */
export function decodeArchive(file: Buffer, trusted: ReadonlySet<string>): DecodedArchive {
  let raw: Buffer;
  try {
    raw = gunzipSync(file, { maxOutputLength: MAX_INFLATED_BYTES });
  } catch (err) {
    throw new ArchiveError(
      'corrupt',
      `not a complete TwinMCP archive (${(err as Error).message}); was the file truncated or changed?`,
    );
  }
  const first = raw.indexOf(0x0a);
  const second = first < 0 ? -1 : raw.indexOf(0x0a, first + 1);
  if (second < 0) throw new ArchiveError('corrupt', 'not a TwinMCP archive (no manifest)');
  const manifestLine = raw.subarray(0, first);
  const signature = parseJson(Signature, raw.subarray(first + 1, second), 'signature');
  let publicKey: crypto.KeyObject;
  try {
    publicKey = crypto.createPublicKey({
      key: Buffer.from(signature.publicKey, 'base64'),
      format: 'der',
      type: 'spki',
    });
  } catch {
    throw new ArchiveError('corrupt', 'the archive signature holds no valid public key');
  }
  const signed = crypto.verify(
    null,
    Buffer.concat([SIGNING_CONTEXT, manifestLine]),
    publicKey,
    Buffer.from(signature.value, 'base64'),
  );
  if (!signed) {
    throw new ArchiveError('tampered', 'the archive manifest does not match its signature');
  }
  const signer = keyFingerprint(publicKey);
  if (!trusted.has(signer)) {
    throw new ArchiveError(
      'untrusted',
      `the archive is signed by key ${signer}, which is not trusted here; if that is the ` +
        `exporting machine's key (\`twinmcp export\` prints it), import with --trust ${signer}`,
    );
  }
  const header = parseJson(z.object({ formatVersion: z.unknown() }), manifestLine, 'manifest');
  if (typeof header.formatVersion === 'number' && header.formatVersion > ARCHIVE_FORMAT_VERSION) {
    throw new ArchiveError(
      'unsupported',
      `archive format ${header.formatVersion} was written by a newer TwinMCP; this one reads up to ${ARCHIVE_FORMAT_VERSION}`,
    );
  }
  const manifest = parseJson(Manifest, manifestLine, 'manifest');
  return { manifest, parts: readParts(manifest, raw.subarray(second + 1)), signer };
}

function readParts(manifest: Manifest, body: Buffer): ArchiveParts {
  const parts: ArchiveParts = { pages: [], chunks: [], vectors: [] };
  const schemas = { pages: PageRecord, chunks: ChunkRecord, vectors: VectorRecord } as const;
  let offset = 0;
  for (const part of manifest.parts) {
    const bytes = body.subarray(offset, offset + part.bytes);
    if (bytes.length !== part.bytes || sha256Hex(bytes) !== part.sha256) {
      throw new ArchiveError('tampered', `archive part "${part.name}" does not match its hash`);
    }
    offset += part.bytes;
    const lines = bytes.toString('utf8').split('\n');
    lines.pop(); // the part ends with a newline
    if (lines.length !== part.records) {
      throw new ArchiveError('corrupt', `archive part "${part.name}" has a wrong record count`);
    }
    const schema = schemas[part.name];
    (parts[part.name] as unknown[]) = lines.map((line) =>
      parseJson(schema as z.ZodType, Buffer.from(line, 'utf8'), part.name),
    );
  }
  if (offset !== body.length) {
    throw new ArchiveError('tampered', 'the archive holds data after its last signed part');
  }
  return parts;
}

function parseJson<T>(schema: z.ZodType<T>, bytes: Buffer, what: string): T {
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new ArchiveError('corrupt', `archive ${what} is not valid JSON`);
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    throw new ArchiveError(
      'incompatible',
      `archive ${what} has an unexpected shape: ${parsed.error.issues[0]?.message ?? 'invalid'}`,
    );
  }
  return parsed.data;
}
