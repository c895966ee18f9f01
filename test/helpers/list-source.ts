import type { DiscoveredServer } from '../../src/discovery/follow-servers.js';

type Step = { kind: 'list'; list: readonly DiscoveredServer[] } | { kind: 'fail'; error: unknown } | { kind: 'end' };

/**
 * A discovery source driven by the test: `push(list)` hands the next list to whoever iterates,
 * `fail(err)` makes the current iteration throw, `end()` finishes it. Every call of the source function is
 * counted and its signal kept, so a test sees retries and aborts.
 */
export class ListSource {
  readonly signals: AbortSignal[] = [];
  #queue: Step[] = [];
  #wake: (() => void) | undefined;

  /** The source function to hand to followServers. */
  readonly source = (signal: AbortSignal): AsyncIterable<readonly DiscoveredServer[]> => {
    this.signals.push(signal);
    return this.#iterate(signal);
  };

  /** Number of times the source was opened (1 + retries). */
  get opened(): number {
    return this.signals.length;
  }

  push(list: readonly DiscoveredServer[]): void {
    this.#enqueue({ kind: 'list', list });
  }

  fail(error: unknown): void {
    this.#enqueue({ kind: 'fail', error });
  }

  end(): void {
    this.#enqueue({ kind: 'end' });
  }

  #enqueue(step: Step): void {
    this.#queue.push(step);
    this.#wake?.();
  }

  async *#iterate(signal: AbortSignal): AsyncGenerator<readonly DiscoveredServer[]> {
    for (let i = 0; i < 10_000 && !signal.aborted; i++) {
      const step = this.#queue.shift() ?? (await this.#next());
      if (step.kind === 'end') return;
      if (step.kind === 'fail') throw step.error;
      yield step.list;
    }
  }

  #next(): Promise<Step> {
    return new Promise((resolve) => {
      this.#wake = () => {
        this.#wake = undefined;
        resolve(this.#queue.shift()!);
      };
    });
  }
}

/** Resolves with the arguments of the next `event` emitted by `emitter`. */
export function nextEvent<A extends unknown[]>(emitter: object, event: string): Promise<A> {
  const e = emitter as { once(event: string, listener: (...args: unknown[]) => void): unknown };
  return new Promise((resolve) => {
    e.once(event, (...args: unknown[]) => resolve(args as A));
  });
}
