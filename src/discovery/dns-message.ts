import net from 'node:net';
import { invalidArg } from '../errors.js';

/**
 * @internal The DNS wire format (RFC 1035, RFC 2782 for SRV, RFC 6891 for the EDNS0 OPT record),
 * just enough to ask one question and read the answer. Decoding never trusts a length or a pointer:
 * anything that does not fit throws a {@link MalformedDnsMessage}.
 */

/** @internal */
export const RR_TYPE = Object.freeze({ A: 1, CNAME: 5, AAAA: 28, SRV: 33, OPT: 41 });
const CLASS_IN = 1;
const HEADER_BYTES = 12;
const MAX_NAME_BYTES = 255;
const MAX_POINTER_JUMPS = 64;

/** @internal Thrown by {@link decodeMessage} for any answer that does not parse. */
export class MalformedDnsMessage extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MalformedDnsMessage';
  }
}

/** @internal One resource record. `data` is decoded for A, AAAA, SRV and CNAME. */
export interface DnsRecord {
  /** Owner name, lower case, without the trailing dot. */
  readonly name: string;
  readonly type: number;
  readonly class: number;
  /** Seconds. */
  readonly ttl: number;
  readonly data:
    | { readonly kind: 'address'; readonly address: string }
    | { readonly kind: 'srv'; readonly priority: number; readonly weight: number; readonly port: number; readonly target: string }
    | { readonly kind: 'cname'; readonly target: string }
    | { readonly kind: 'other' };
}

/** @internal A decoded message. */
export interface DnsMessage {
  readonly id: number;
  readonly response: boolean;
  readonly truncated: boolean;
  readonly rcode: number;
  readonly questions: readonly { readonly name: string; readonly type: number; readonly class: number }[];
  readonly answers: readonly DnsRecord[];
  readonly additionals: readonly DnsRecord[];
}

/** @internal Encodes a recursive query for `name`/`type` with an EDNS0 OPT record advertising `udpPayload` bytes. */
export function encodeQuery(id: number, name: string, type: number, udpPayload = 1232): Buffer {
  const qname = encodeName(name);
  const buf = Buffer.alloc(HEADER_BYTES + qname.length + 4 + 11);
  buf.writeUInt16BE(id, 0);
  buf.writeUInt16BE(0x0100, 2); // RD
  buf.writeUInt16BE(1, 4); // QDCOUNT
  buf.writeUInt16BE(1, 10); // ARCOUNT: the OPT record
  let at = HEADER_BYTES;
  qname.copy(buf, at);
  at += qname.length;
  buf.writeUInt16BE(type, at);
  buf.writeUInt16BE(CLASS_IN, at + 2);
  at += 4;
  buf.writeUInt8(0, at); // root name
  buf.writeUInt16BE(RR_TYPE.OPT, at + 1);
  buf.writeUInt16BE(udpPayload, at + 3);
  // extended rcode, version, flags (4 bytes) and RDLENGTH (2 bytes) stay 0.
  return buf;
}

/** @internal A domain name as length-prefixed labels; throws ERR_LB_INVALID_ARG for a name DNS cannot carry. */
export function encodeName(name: string): Buffer {
  const trimmed = name.endsWith('.') ? name.slice(0, -1) : name;
  if (trimmed.length === 0) return Buffer.from([0]);
  const parts: Buffer[] = [];
  for (const label of trimmed.split('.')) {
    const bytes = Buffer.from(label, 'ascii');
    if (bytes.length === 0 || bytes.length > 63 || !/^[\x21-\x7e]+$/.test(label)) {
      throw invalidArg('name', 'must be a DNS name of labels of 1 to 63 printable ASCII characters', name);
    }
    parts.push(Buffer.from([bytes.length]), bytes);
  }
  parts.push(Buffer.from([0]));
  const out = Buffer.concat(parts);
  if (out.length > MAX_NAME_BYTES) throw invalidArg('name', 'must be at most 255 bytes on the wire', name);
  return out;
}

/** @internal Decodes a message; throws {@link MalformedDnsMessage} on anything out of bounds or inconsistent. */
export function decodeMessage(buf: Uint8Array): DnsMessage {
  const r = new Reader(buf);
  const id = r.u16();
  const flags = r.u16();
  const qd = r.u16();
  const an = r.u16();
  const ns = r.u16();
  const ar = r.u16();
  const questions: { name: string; type: number; class: number }[] = [];
  for (let i = 0; i < qd; i++) questions.push({ name: r.name(), type: r.u16(), class: r.u16() });
  const answers: DnsRecord[] = [];
  for (let i = 0; i < an; i++) answers.push(r.record());
  for (let i = 0; i < ns; i++) r.record();
  const additionals: DnsRecord[] = [];
  for (let i = 0; i < ar; i++) additionals.push(r.record());
  return {
    id,
    response: (flags & 0x8000) !== 0,
    truncated: (flags & 0x0200) !== 0,
    rcode: flags & 0x000f,
    questions,
    answers,
    additionals,
  };
}

class Reader {
  readonly #buf: Uint8Array;
  #at = 0;

  constructor(buf: Uint8Array) {
    this.#buf = buf;
  }

  #need(n: number, at = this.#at): void {
    if (at + n > this.#buf.length) throw new MalformedDnsMessage(`message ends at byte ${this.#buf.length}, needed ${at + n}`);
  }

  u8(): number {
    this.#need(1);
    return this.#buf[this.#at++]!;
  }

  u16(): number {
    this.#need(2);
    const value = (this.#buf[this.#at]! << 8) | this.#buf[this.#at + 1]!;
    this.#at += 2;
    return value;
  }

  u32(): number {
    this.#need(4);
    const b = this.#buf;
    const at = this.#at;
    this.#at += 4;
    return ((b[at]! << 24) >>> 0) + (b[at + 1]! << 16) + (b[at + 2]! << 8) + b[at + 3]!;
  }

  /** Reads a possibly compressed name at the cursor; pointers must point backwards and are bounded in number. */
  name(): string {
    const labels: string[] = [];
    let at = this.#at;
    let end: number | undefined;
    let jumps = 0;
    let bytes = 0;
    for (;;) {
      this.#need(1, at);
      const len = this.#buf[at]!;
      if ((len & 0xc0) === 0xc0) {
        this.#need(2, at);
        const target = ((len & 0x3f) << 8) | this.#buf[at + 1]!;
        if (target >= at) throw new MalformedDnsMessage(`name pointer at byte ${at} does not point backwards`);
        if (++jumps > MAX_POINTER_JUMPS) throw new MalformedDnsMessage('too many name pointers');
        end ??= at + 2;
        at = target;
        continue;
      }
      if ((len & 0xc0) !== 0) throw new MalformedDnsMessage(`unsupported label type 0x${len.toString(16)} at byte ${at}`);
      if (len === 0) {
        end ??= at + 1;
        break;
      }
      this.#need(1 + len, at);
      bytes += len + 1;
      if (bytes > MAX_NAME_BYTES) throw new MalformedDnsMessage('name longer than 255 bytes');
      labels.push(Buffer.from(this.#buf.subarray(at + 1, at + 1 + len)).toString('latin1').toLowerCase());
      at += 1 + len;
    }
    this.#at = end;
    return labels.join('.');
  }

  record(): DnsRecord {
    const name = this.name();
    const type = this.u16();
    const cls = this.u16();
    const ttl = this.u32();
    const rdlength = this.u16();
    this.#need(rdlength);
    const start = this.#at;
    const stop = start + rdlength;
    let data: DnsRecord['data'];
    if (type === RR_TYPE.A && cls === CLASS_IN) {
      if (rdlength !== 4) throw new MalformedDnsMessage(`A record of ${rdlength} bytes`);
      data = { kind: 'address', address: Array.from(this.#buf.subarray(start, stop)).join('.') };
    } else if (type === RR_TYPE.AAAA && cls === CLASS_IN) {
      if (rdlength !== 16) throw new MalformedDnsMessage(`AAAA record of ${rdlength} bytes`);
      const groups: string[] = [];
      for (let i = start; i < stop; i += 2) groups.push(((this.#buf[i]! << 8) | this.#buf[i + 1]!).toString(16));
      const address = groups.join(':');
      // Normalise (compress zeros) through the URL parser, which accepts any valid IPv6 text.
      data = { kind: 'address', address: net.isIPv6(address) ? new URL(`http://[${address}]/`).hostname.slice(1, -1) : address };
    } else if (type === RR_TYPE.SRV && cls === CLASS_IN) {
      if (rdlength < 7) throw new MalformedDnsMessage(`SRV record of ${rdlength} bytes`);
      const priority = this.u16();
      const weight = this.u16();
      const port = this.u16();
      const target = this.name();
      if (this.#at !== stop) throw new MalformedDnsMessage('SRV target does not end where RDLENGTH says');
      data = { kind: 'srv', priority, weight, port, target };
    } else if (type === RR_TYPE.CNAME) {
      const target = this.name();
      if (this.#at !== stop) throw new MalformedDnsMessage('CNAME target does not end where RDLENGTH says');
      data = { kind: 'cname', target };
    } else {
      data = { kind: 'other' };
    }
    this.#at = stop;
    // RFC 2181 §8: a TTL with the top bit set is treated as zero.
    return { name, type, class: cls, ttl: ttl > 0x7fffffff ? 0 : ttl, data };
  }
}
