import type { Pool } from '../pool.js';
import type { AdminState } from '../server.js';
import type { ControlPlaneHold } from './endpoint-mapping.js';

/**
 * Applies the control plane's holds (`unhealthy`, `draining`) to a pool. The only code that turns a hold
 * into pool state, so that it can move to a dedicated core API (a per-source hold beside admin state and
 * health) without touching the rest of the xDS code.
 *
 * Today's core has no such state, so a hold is expressed as admin state, remembering which admin state was
 * set here: `unhealthy` → `maint` (never picked, checks paused), `draining` → `drain` (no new connections,
 * live ones stay, still checked). A hold is applied only to a server whose admin state is `ready` or the one
 * set here before; when a hold lifts, the server goes back to `ready` only if its admin state is still the
 * one set here. An operator's own `drain`/`maint` is therefore never undone by the control plane.
 */
export class ControlPlaneHealth {
  readonly #pool: Pool;
  /** Admin state set here, per server name. */
  readonly #set = new Map<string, AdminState>();

  constructor(pool: Pool) {
    this.#pool = pool;
  }

  /** Options a server takes when it is added with a hold: it is born unusable, so no caller is ever served by it. */
  addOptions(hold: ControlPlaneHold | undefined): { readonly disabled?: true } {
    return hold === undefined ? {} : { disabled: true };
  }

  /** Records that `name` was just added with {@link ControlPlaneHealth.addOptions} for `hold`. */
  added(name: string, hold: ControlPlaneHold | undefined): void {
    if (hold === undefined) this.#set.delete(name);
    else this.#set.set(name, 'maint');
  }

  /** Brings the server called `name` in line with `hold`. */
  apply(name: string, hold: ControlPlaneHold | undefined): void {
    // The common case, nothing held before or now, costs one map lookup (10 000-endpoint updates).
    if (hold === undefined && !this.#set.has(name)) return;
    const server = this.#pool.find(name);
    if (server === undefined) {
      this.#set.delete(name);
      return;
    }
    const ours = this.#set.get(name);
    const current = server.adminState;
    if (hold === undefined) {
      if (ours === undefined) return;
      this.#set.delete(name);
      if (current === ours) this.#pool.setAdminState(name, 'ready');
      return;
    }
    const want: AdminState = hold === 'unhealthy' ? 'maint' : 'drain';
    if (current === want) {
      if (ours !== undefined) this.#set.set(name, want);
      return;
    }
    if (current !== 'ready' && current !== ours) {
      // The operator put it in drain or maintenance: theirs stays.
      this.#set.delete(name);
      return;
    }
    this.#pool.setAdminState(name, want);
    this.#set.set(name, want);
  }

  /** Forgets a server that left the pool. */
  forget(name: string): void {
    this.#set.delete(name);
  }

  /** The hold currently expressed on `name` by this object, if any. */
  heldAs(name: string): AdminState | undefined {
    return this.#set.get(name);
  }
}
