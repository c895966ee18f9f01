import net from 'node:net';

/** One end of a TCP connection as the PROXY protocol carries it. */
export interface ProxyEndpoint {
  /** IPv4 or IPv6 address in text form; an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) counts as IPv4. */
  readonly address: string | undefined;
  readonly port: number | undefined;
}

/** The 12-byte signature that starts every PROXY protocol v2 header. */
export const PROXY_V2_SIGNATURE: Buffer = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);

const V1_UNKNOWN = 'PROXY UNKNOWN\r\n';

/**
 * The PROXY protocol v1 line (`PROXY TCP4 <src> <dst> <sport> <dport>\r\n`), byte-exact to
 * haproxy.org/download/2.6/doc/proxy-protocol.txt §2.1. When an address is missing, or the two ends are
 * of different families, the line is `PROXY UNKNOWN\r\n` (as HAProxy sends it).
 *
 * @example
 * ```ts
 * encodeProxyV1({ address: '192.0.2.1', port: 56324 }, { address: '198.51.100.7', port: 443 })
 * // 'PROXY TCP4 192.0.2.1 198.51.100.7 56324 443\r\n'
 * ```
 */
export function encodeProxyV1(source: ProxyEndpoint, destination: ProxyEndpoint): Buffer {
  const src = normalise(source);
  const dst = normalise(destination);
  if (src === undefined || dst === undefined || src.family !== dst.family) return Buffer.from(V1_UNKNOWN, 'latin1');
  const proto = src.family === 4 ? 'TCP4' : 'TCP6';
  return Buffer.from(`PROXY ${proto} ${src.address} ${dst.address} ${src.port} ${dst.port}\r\n`, 'latin1');
}

/**
 * The PROXY protocol v2 binary header (proxy-protocol.txt §2.2): signature, `\x21` (version 2, PROXY),
 * `\x11` TCP over IPv4 with a 12-byte address block or `\x21` TCP over IPv6 with 36 bytes, no TLVs.
 * Mixed families are sent as IPv6 with the IPv4 end mapped (`::ffff:a.b.c.d`), as HAProxy does; when an
 * address is missing the header is `LOCAL` with family `UNSPEC` and no address block.
 */
export function encodeProxyV2(source: ProxyEndpoint, destination: ProxyEndpoint): Buffer {
  const src = normalise(source);
  const dst = normalise(destination);
  if (src === undefined || dst === undefined) {
    const out = Buffer.allocUnsafe(16);
    PROXY_V2_SIGNATURE.copy(out, 0);
    out[12] = 0x20; // version 2, LOCAL
    out[13] = 0x00; // AF_UNSPEC, UNSPEC
    out.writeUInt16BE(0, 14);
    return out;
  }
  if (src.family === 4 && dst.family === 4) {
    const out = Buffer.allocUnsafe(16 + 12);
    PROXY_V2_SIGNATURE.copy(out, 0);
    out[12] = 0x21; // version 2, PROXY
    out[13] = 0x11; // AF_INET, STREAM
    out.writeUInt16BE(12, 14);
    writeIPv4(out, 16, src.address);
    writeIPv4(out, 20, dst.address);
    out.writeUInt16BE(src.port, 24);
    out.writeUInt16BE(dst.port, 26);
    return out;
  }
  const out = Buffer.allocUnsafe(16 + 36);
  PROXY_V2_SIGNATURE.copy(out, 0);
  out[12] = 0x21;
  out[13] = 0x21; // AF_INET6, STREAM
  out.writeUInt16BE(36, 14);
  writeIPv6(out, 16, src.family === 4 ? `::ffff:${src.address}` : src.address);
  writeIPv6(out, 32, dst.family === 4 ? `::ffff:${dst.address}` : dst.address);
  out.writeUInt16BE(src.port, 48);
  out.writeUInt16BE(dst.port, 50);
  return out;
}

interface Normalised {
  readonly family: 4 | 6;
  readonly address: string;
  readonly port: number;
}

const MAPPED_PREFIX = '::ffff:';

function normalise(end: ProxyEndpoint): Normalised | undefined {
  let address = end.address;
  const port = end.port;
  if (address === undefined || port === undefined || !Number.isInteger(port) || port < 0 || port > 65535) return undefined;
  const zone = address.indexOf('%');
  if (zone >= 0) address = address.slice(0, zone);
  if (address.length > MAPPED_PREFIX.length && address.slice(0, MAPPED_PREFIX.length).toLowerCase() === MAPPED_PREFIX) {
    const tail = address.slice(MAPPED_PREFIX.length);
    if (net.isIPv4(tail)) return { family: 4, address: tail, port };
  }
  const family = net.isIP(address);
  if (family === 0) return undefined;
  return { family: family as 4 | 6, address, port };
}

function writeIPv4(out: Buffer, offset: number, address: string): void {
  let part = 0;
  let value = 0;
  for (let i = 0; i <= address.length; i++) {
    const c = i === address.length ? 46 : address.charCodeAt(i);
    if (c === 46) {
      out[offset + part++] = value;
      value = 0;
    } else {
      value = value * 10 + (c - 48);
    }
  }
}

/** Writes a valid IPv6 address (as checked by `net.isIPv6`) as 16 network-order bytes. */
function writeIPv6(out: Buffer, offset: number, address: string): void {
  let text = address;
  const v4Words: number[] = [];
  // An embedded dotted IPv4 tail (`::ffff:1.2.3.4`, `64:ff9b::1.2.3.4`) fills the last two words.
  const lastColon = text.lastIndexOf(':');
  if (text.includes('.', lastColon)) {
    const v4 = Buffer.allocUnsafe(4);
    writeIPv4(v4, 0, text.slice(lastColon + 1));
    v4Words.push(v4.readUInt16BE(0), v4.readUInt16BE(2));
    text = text.slice(0, lastColon + 1);
    if (!text.endsWith('::')) text = text.slice(0, -1);
  }
  const gap = text.indexOf('::');
  const head = hexWords(gap >= 0 ? text.slice(0, gap) : text);
  const tail = [...(gap >= 0 ? hexWords(text.slice(gap + 2)) : []), ...v4Words];
  const words = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  for (let i = 0; i < 8; i++) out.writeUInt16BE(words[i]!, offset + 2 * i);
}

function hexWords(text: string): number[] {
  return text === '' ? [] : text.split(':').map((h) => parseInt(h, 16));
}
