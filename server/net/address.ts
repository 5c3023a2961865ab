/**
 * Address classes a hosted server must never fetch: private, loopback, link-local and cloud
 * metadata. Exactly these classes; everything else is public. IPv4-mapped IPv6 addresses
 * (`::ffff:10.0.0.1`) are judged as the IPv4 address they carry.
 */
import { isIP } from 'node:net';

/** Why an address is refused. */
export type BlockedClass = 'private' | 'loopback' | 'link-local' | 'metadata';

interface Range {
  base: bigint;
  bits: number;
  width: 32 | 128;
  cls: BlockedClass;
}

function v4(text: string): bigint | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0n;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part) || Number(part) > 255) return undefined;
    value = (value << 8n) | BigInt(part);
  }
  return value;
}

function v6(text: string): bigint | undefined {
  let s = text.toLowerCase();
  const zone = s.indexOf('%');
  if (zone >= 0) s = s.slice(0, zone);
  // A trailing dotted quad (`::ffff:1.2.3.4`) becomes two hextets.
  const quad = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (quad?.[1]) {
    const n = v4(quad[1]);
    if (n === undefined) return undefined;
    s = `${s.slice(0, -quad[1].length)}${(n >> 16n).toString(16)}:${(n & 0xffffn).toString(16)}`;
  }
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const head = halves[0] ? halves[0].split(':') : [];
  const tail = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const groups = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...tail];
  let value = 0n;
  for (const g of groups) {
    if (!/^[0-9a-f]{1,4}$/.test(g)) return undefined;
    value = (value << 16n) | BigInt(parseInt(g, 16));
  }
  return value;
}

function range(cidr: string, cls: BlockedClass): Range {
  const [addr, bits] = cidr.split('/') as [string, string];
  const width = addr.includes(':') ? 128 : 32;
  const base = width === 32 ? v4(addr) : v6(addr);
  if (base === undefined) throw new Error(`bad range ${cidr}`);
  return { base, bits: Number(bits), width, cls };
}

// Most specific first: the metadata addresses sit inside link-local and private ranges.
const RANGES: Range[] = [
  range('169.254.169.254/32', 'metadata'),
  range('fd00:ec2::254/128', 'metadata'),
  range('127.0.0.0/8', 'loopback'),
  // "This host": connecting to 0.0.0.0 reaches the local machine on Linux, so it is loopback here.
  range('0.0.0.0/8', 'loopback'),
  range('10.0.0.0/8', 'private'),
  range('172.16.0.0/12', 'private'),
  range('192.168.0.0/16', 'private'),
  // Carrier-grade NAT: reaches the provider's internal network, never a public site.
  range('100.64.0.0/10', 'private'),
  range('169.254.0.0/16', 'link-local'),
  range('::1/128', 'loopback'),
  range('::/128', 'loopback'),
  range('fc00::/7', 'private'),
  range('fe80::/10', 'link-local'),
];

function inRange(value: bigint, width: 32 | 128, r: Range): boolean {
  if (r.width !== width) return false;
  const shift = BigInt(width - r.bits);
  return value >> shift === r.base >> shift;
}

/** The IPv4 address inside an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`), if it is one. */
function mappedV4(value: bigint): bigint | undefined {
  return value >> 32n === 0xffffn ? value & 0xffffffffn : undefined;
}

/** The refused class of an IP address literal, or undefined when it is public (or not an IP). */
export function blockedClass(ip: string): BlockedClass | undefined {
  const family = isIP(ip.replace(/^\[|\]$/g, '').replace(/%.*$/, ''));
  if (family === 0) return undefined;
  const text = ip.replace(/^\[|\]$/g, '');
  let value = family === 4 ? v4(text) : v6(text);
  let width: 32 | 128 = family === 4 ? 32 : 128;
  if (value === undefined) return undefined;
  if (width === 128) {
    const mapped = mappedV4(value);
    if (mapped !== undefined) {
      value = mapped;
      width = 32;
    }
  }
  for (const r of RANGES) if (inRange(value, width, r)) return r.cls;
  return undefined;
}

// Cloud metadata services by name: they resolve to 169.254.169.254 inside the cloud, but a name
// is refused even where it resolves elsewhere, since /etc/hosts can point it anywhere.
const METADATA_NAMES = new Set(['metadata.google.internal', 'metadata.goog', 'metadata']);

/** True for host names of cloud metadata services (`metadata.google.internal`). */
export function isMetadataHostName(host: string): boolean {
  return METADATA_NAMES.has(host.toLowerCase().replace(/\.$/, ''));
}
