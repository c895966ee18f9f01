import type { Farm, ModelServer, StrategyModel } from './model-check.js';

// A deliberately simple model of HAProxy 2.6 static-rr: a line-by-line transcription of src/lb_map.c
// (init_server_map(), recalc_server_map(), map_get_server_rr()) and of the group choice of
// update_backend_weight(), with the GCD taken once over the configured weights of every server.

export interface MServer extends ModelServer {
  readonly backup: boolean;
  readonly maxconn: number;
  readonly iweight: number;
  uweight: number;
  wscore: number;
}

export class MapModel implements StrategyModel<MServer, boolean> {
  readonly servers: MServer[];
  readonly wmult: number;
  map: MServer[] = [];
  rrIdx = 0;
  recalc = true;
  usable: boolean[];

  constructor(
    farm: Farm,
    readonly allBackups: boolean,
  ) {
    this.servers = farm.servers.map((f) => ({ ...f, iweight: f.weight, uweight: f.weight, admin: 'ready', running: true, served: 0, wscore: 0 }));
    let pgcd = 1;
    const first = this.servers.findIndex((s) => s.uweight > 0);
    if (first >= 0) {
      pgcd = this.servers[first]!.uweight;
      for (let i = first + 1; pgcd > 1 && i < this.servers.length; i++) {
        let w = this.servers[i]!.uweight;
        while (w) [pgcd, w] = [w, pgcd % w];
      }
    }
    this.wmult = pgcd;
    this.usable = this.servers.map((s) => this.isUsable(s));
  }

  // ---- the loop's interface (model-check.ts): a weight command sets 100% (true) or 0% (false) ----
  pick(avoid: MServer | null): MServer | null {
    return this.getServerRr(avoid);
  }
  setWeight(s: MServer, full: boolean): `${number}%` {
    s.uweight = full ? s.iweight : 0;
    return full ? '100%' : '0%';
  }
  changed(_s: MServer, i: number): void {
    this.propagate(i);
  }

  eweight(s: MServer): number {
    return Math.floor((s.uweight + this.wmult - 1) / this.wmult);
  }
  isUsable(s: MServer): boolean {
    return this.eweight(s) > 0 && s.admin === 'ready' && s.running;
  }
  /** map_set_server_status_up/down(): the map is recomputed on the next pick when usability changed. */
  propagate(i: number): void {
    const now = this.isUsable(this.servers[i]!);
    if (now !== this.usable[i]) this.recalc = true;
    this.usable[i] = now;
  }
  saturated(s: MServer): boolean {
    return s.maxconn > 0 && s.served >= s.maxconn;
  }
  recalcServerMap(tot: number, backup: boolean): void {
    for (const cur of this.servers) cur.wscore = 0;
    this.map = [];
    for (let o = 0; o < tot; o++) {
      let max = 0;
      let best: MServer | null = null;
      for (const cur of this.servers) {
        if (cur.backup !== backup || !this.isUsable(cur)) continue;
        if (tot === 1) {
          best = cur;
          break;
        }
        cur.wscore += this.eweight(cur);
        const v = Math.trunc((cur.wscore + tot) / tot);
        if (best === null || v > max) {
          max = v;
          best = cur;
        }
      }
      this.map[o] = best!;
      best!.wscore -= tot;
    }
    this.recalc = false;
  }
  getServerRr(avoid: MServer | null): MServer | null {
    const act = this.servers.filter((s) => !s.backup && this.isUsable(s));
    const bck = this.servers.filter((s) => s.backup && this.isUsable(s));
    // Without allbackups the balancer hands everything to the first usable backup and does not consult the
    // strategy (HAProxy 2.6 walks a quirky map here instead; see the behaviour test above).
    if (act.length === 0 && !this.allBackups) return bck[0] ?? null;
    const group = act.length > 0 ? act : bck;
    const tot = group.reduce((sum, s) => sum + this.eweight(s), 0);
    if (tot === 0) return null;
    if (this.recalc) this.recalcServerMap(tot, act.length === 0);
    if (this.rrIdx < 0 || this.rrIdx >= tot) this.rrIdx = 0;
    let newidx = this.rrIdx;
    let avoided: MServer | null = null;
    let avoididx = 0;
    do {
      const srv = this.map[newidx++]!;
      if (!this.saturated(srv)) {
        if (srv !== avoid) {
          this.rrIdx = newidx;
          return srv;
        }
        avoided = srv;
        avoididx = newidx;
      }
      if (newidx === tot) newidx = 0;
    } while (newidx !== this.rrIdx);
    if (avoided) this.rrIdx = avoididx;
    return avoided;
  }
}
