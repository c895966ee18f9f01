import type { Server } from '../../../src/server.js';

/**
 * A deliberately simple model of HAProxy's FWLC: a list of (server, key, seq) scanned linearly.
 * It mirrors the rules, not the implementation: key 0 when idle else ⌊(inflight+1)·4096/eweight⌋;
 * a new seq whenever the key changes on a connection event, and always on a weight change or (re)insertion.
 */
export class LeastConnModel {
  readonly entries = new Map<Server, { key: number; seq: number }>();
  #seq = 0;

  insert(s: Server): void {
    this.entries.set(s, { key: this.#key(s), seq: this.#seq++ });
  }
  remove(s: Server): void {
    this.entries.delete(s);
  }
  connectionEvent(s: Server): void {
    const e = this.entries.get(s);
    if (e && e.key !== this.#key(s)) this.entries.set(s, { key: this.#key(s), seq: this.#seq++ });
  }
  pick(group: 'active' | 'backup', exclude?: Server): Server | undefined {
    const order = [...this.entries].filter(([s]) => s.backup === (group === 'backup'));
    order.sort(([, a], [, b]) => a.key - b.key || a.seq - b.seq);
    let avoided: Server | undefined;
    for (const [s] of order) {
      if (s.maxconn > 0 && s.currentConnections + s.queued >= s.maxconn + s.maxqueue) continue;
      if (s === exclude) {
        avoided = s;
        continue;
      }
      return s;
    }
    return avoided;
  }
  #key(s: Server): number {
    const n = s.currentConnections + s.queued;
    return n === 0 ? 0 : Math.floor(((n + 1) * 4096) / s.effectiveWeight);
  }
}
