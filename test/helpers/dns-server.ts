import dgram from 'node:dgram';
import { EventEmitter, once } from 'node:events';
import net from 'node:net';

/**
 * A tiny authoritative DNS responder on 127.0.0.1 for discovery tests: answers A, AAAA and SRV questions
 * from a mutable table, with TTLs, and can go silent, answer SERVFAIL, or answer garbage to simulate an outage.
 * Written separately from src/discovery/dns-message.ts, so the two check each other.
 */

export interface AddressRecord {
  readonly address: string;
  readonly ttl: number;
}

export interface SrvRecord {
  readonly priority: number;
  readonly weight: number;
  readonly port: number;
  readonly target: string;
  readonly ttl: number;
}

export interface Zone {
  A?: AddressRecord[];
  AAAA?: AddressRecord[];
  SRV?: SrvRecord[];
}

export type Mode = 'answer' | 'silent' | 'servfail' | 'refused' | 'garbage' | 'truncated' | 'wrong-id';

export interface Query {
  readonly name: string;
  readonly type: 'A' | 'AAAA' | 'SRV' | number;
}

const TYPES: Record<number, 'A' | 'AAAA' | 'SRV'> = { 1: 'A', 28: 'AAAA', 33: 'SRV' };

export class TestDnsServer extends EventEmitter<{ query: [Query] }> {
  /** Records by lower-case name. Mutate freely between queries. */
  readonly zones = new Map<string, Zone>();
  /** How the server behaves now. */
  mode: Mode = 'answer';
  /** Put the targets' A/AAAA records of an SRV answer in the additional section. */
  srvGlue = true;
  /** Every question received, in order. */
  readonly queries: Query[] = [];
  readonly #socket: dgram.Socket;

  private constructor(socket: dgram.Socket) {
    super();
    this.#socket = socket;
    socket.on('message', (packet, rinfo) => this.#onPacket(packet, rinfo));
  }

  static async start(): Promise<TestDnsServer> {
    const socket = dgram.createSocket('udp4');
    socket.bind(0, '127.0.0.1');
    await once(socket, 'listening');
    return new TestDnsServer(socket);
  }

  /** `127.0.0.1:port`, for `servers: [...]`. */
  get address(): string {
    const a = this.#socket.address();
    return `${a.address}:${a.port}`;
  }

  set(name: string, zone: Zone): void {
    this.zones.set(name.toLowerCase(), zone);
  }

  /** Resolves when the next question for `name` arrives (any type when `type` is not given). */
  nextQuery(name: string, type?: Query['type']): Promise<Query> {
    const want = name.toLowerCase();
    return new Promise((resolve) => {
      const listener = (q: Query): void => {
        if (q.name !== want || (type !== undefined && q.type !== type)) return;
        this.off('query', listener);
        resolve(q);
      };
      this.on('query', listener);
    });
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.#socket.close(() => resolve()));
  }

  #onPacket(packet: Buffer, rinfo: dgram.RemoteInfo): void {
    if (packet.length < 12) return;
    const id = packet.readUInt16BE(0);
    const flags = packet.readUInt16BE(2);
    let at = 12;
    const labels: string[] = [];
    while (at < packet.length && packet[at]! !== 0) {
      const len = packet[at]!;
      labels.push(packet.subarray(at + 1, at + 1 + len).toString('latin1'));
      at += 1 + len;
    }
    at += 1;
    const qtype = packet.readUInt16BE(at);
    const questionEnd = at + 4;
    const name = labels.join('.');
    const query: Query = { name: name.toLowerCase(), type: TYPES[qtype] ?? qtype };
    this.queries.push(query);
    // Answer first, then announce: a test that awaits the query is then sure the answer is on its way.
    const reply = this.#reply(packet, id, flags, questionEnd, query);
    if (reply) this.#socket.send(reply, rinfo.port, rinfo.address);
    this.emit('query', query);
  }

  #reply(packet: Buffer, id: number, flags: number, questionEnd: number, q: Query): Buffer | undefined {
    const question = packet.subarray(12, questionEnd);
    const header = (rcode: number, an: number, ar: number, extra = 0): Buffer => {
      const h = Buffer.alloc(12);
      h.writeUInt16BE(this.mode === 'wrong-id' ? (id + 1) & 0xffff : id, 0);
      h.writeUInt16BE(0x8000 | 0x0400 | (flags & 0x0100) | 0x0080 | extra | rcode, 2);
      h.writeUInt16BE(1, 4);
      h.writeUInt16BE(an, 6);
      h.writeUInt16BE(ar, 10);
      return h;
    };
    switch (this.mode) {
      case 'silent':
        return undefined;
      case 'servfail':
        return Buffer.concat([header(2, 0, 0), question]);
      case 'refused':
        return Buffer.concat([header(5, 0, 0), question]);
      case 'garbage':
        // Claims one answer whose name pointer loops onto itself.
        return Buffer.concat([header(0, 1, 0), question, Buffer.from([0xc0, 12 + question.length, 0, 1, 0, 1])]);
      default:
        break;
    }
    const zone = this.zones.get(q.name);
    if (zone === undefined) return Buffer.concat([header(3, 0, 0), question]);
    const answers: Buffer[] = [];
    const glue: Buffer[] = [];
    if (q.type === 'A') for (const r of zone.A ?? []) answers.push(rr(q.name, 1, r.ttl, ipv4(r.address)));
    if (q.type === 'AAAA') for (const r of zone.AAAA ?? []) answers.push(rr(q.name, 28, r.ttl, ipv6(r.address)));
    if (q.type === 'SRV') {
      for (const r of zone.SRV ?? []) {
        const data = Buffer.concat([u16(r.priority), u16(r.weight), u16(r.port), encodeName(r.target)]);
        answers.push(rr(q.name, 33, r.ttl, data));
        const t = this.zones.get(r.target.toLowerCase());
        if (this.srvGlue && t) {
          for (const a of t.A ?? []) glue.push(rr(r.target, 1, a.ttl, ipv4(a.address)));
          for (const a of t.AAAA ?? []) glue.push(rr(r.target, 28, a.ttl, ipv6(a.address)));
        }
      }
    }
    const tc = this.mode === 'truncated' ? 0x0200 : 0;
    return Buffer.concat([header(0, answers.length, glue.length, tc), question, ...answers, ...glue]);
  }
}

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}

function encodeName(name: string): Buffer {
  const parts = name.replace(/\.$/, '').split('.').filter(Boolean);
  return Buffer.concat([...parts.map((p) => Buffer.concat([Buffer.from([p.length]), Buffer.from(p, 'latin1')])), Buffer.from([0])]);
}

function rr(name: string, type: number, ttl: number, data: Buffer): Buffer {
  const fixed = Buffer.alloc(10);
  fixed.writeUInt16BE(type, 0);
  fixed.writeUInt16BE(1, 2);
  fixed.writeUInt32BE(ttl, 4);
  fixed.writeUInt16BE(data.length, 8);
  return Buffer.concat([encodeName(name), fixed, data]);
}

function ipv4(address: string): Buffer {
  if (!net.isIPv4(address)) throw new Error(`not IPv4: ${address}`);
  return Buffer.from(address.split('.').map(Number));
}

function ipv6(address: string): Buffer {
  if (!net.isIPv6(address)) throw new Error(`not IPv6: ${address}`);
  const [head, tail] = address.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  return Buffer.concat(groups.map((g) => u16(parseInt(g, 16))));
}
