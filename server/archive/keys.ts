/**
 * The archive signing key: one Ed25519 key pair per data directory, created on first export and
 * kept beside the directory (like its lock file) as `<dataDir>.archive-key.pem`, mode 0600.
 */
import crypto from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { keyFingerprint } from './format.js';

/** Where the signing key of a data directory lives. */
export function signingKeyPath(dataDir: string): string {
  return `${dataDir}.archive-key.pem`;
}

/** Reads the key at `file`, creating it when absent (two exports racing: the first write wins). */
export async function loadOrCreateSigningKey(file: string): Promise<crypto.KeyObject> {
  const existing = await readSigningKey(file);
  if (existing) return existing;
  const { privateKey } = crypto.generateKeyPairSync('ed25519');
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' });
  await mkdir(path.dirname(file), { recursive: true });
  try {
    await writeFile(file, pem, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  return (await readSigningKey(file))!;
}

/** The key at `file`, or undefined when there is none. */
export async function readSigningKey(file: string): Promise<crypto.KeyObject | undefined> {
  let pem: string;
  try {
    pem = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const key = crypto.createPrivateKey(pem);
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new Error(`${file} is not an Ed25519 private key`);
  }
  return key;
}

/** Fingerprint of the public half of a private key. */
export function signerFingerprint(privateKey: crypto.KeyObject): string {
  return keyFingerprint(crypto.createPublicKey(privateKey));
}
