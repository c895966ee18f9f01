import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { HeapNode, IndexedHeap, KeyedNode, byKey } from '../../../src/strategies/internal/indexed-heap.js';

type Node = KeyedNode<string>;

function nodes(...entries: [name: string, key: number][]): Node[] {
  return entries.map(([name, key]) => Object.assign(new KeyedNode(name), { key }));
}

const names = (heap: IndexedHeap<Node>): string[] => heap.toArray().map((n) => n.value);

describe('IndexedHeap', () => {
  it('orders by the comparator, equal items first-in first-out', () => {
    const heap = new IndexedHeap<Node>(byKey);
    for (const n of nodes(['a', 1], ['b', 0], ['c', 1], ['d', 0], ['e', 1])) heap.push(n);
    assert.deepEqual(names(heap), ['b', 'd', 'a', 'c', 'e']);
    assert.equal(heap.peek()?.value, 'b');
    const popped: string[] = [];
    for (let n = heap.pop(); n !== undefined; n = heap.pop()) popped.push(n.value);
    assert.deepEqual(popped, ['b', 'd', 'a', 'c', 'e']);
    assert.equal(heap.size, 0);
    assert.equal(heap.peek(), undefined);
  });

  it('puts an updated item behind the items it now compares equal to, even when its key did not change', () => {
    const [a, b, c] = nodes(['a', 0], ['b', 0], ['c', 0]) as [Node, Node, Node];
    const heap = new IndexedHeap<Node>(byKey);
    heap.push(a);
    heap.push(b);
    heap.push(c);
    assert.equal(heap.update(a), true);
    assert.deepEqual(names(heap), ['b', 'c', 'a']);
    c.key = 5;
    heap.update(c);
    b.key = 5;
    heap.update(b);
    assert.deepEqual(names(heap), ['a', 'c', 'b']);
  });

  it('removes an item from anywhere and leaves the others in order', () => {
    const list = nodes(['a', 3], ['b', 1], ['c', 4], ['d', 1], ['e', 5], ['f', 9], ['g', 2]);
    const heap = new IndexedHeap<Node>(byKey);
    for (const n of list) heap.push(n);
    assert.equal(heap.remove(list[1]!), true);
    assert.equal(heap.remove(list[1]!), false, 'a second removal finds nothing');
    assert.equal(heap.has(list[1]!), false);
    assert.deepEqual(names(heap), ['d', 'g', 'a', 'c', 'e', 'f']);
  });

  it('ignores update and remove of an item it does not hold', () => {
    const heap = new IndexedHeap<Node>(byKey);
    const [inside, outside] = nodes(['in', 1], ['out', 0]) as [Node, Node];
    heap.push(inside);
    assert.equal(heap.update(outside), false);
    assert.equal(heap.remove(outside), false);
    assert.equal(heap.has(outside), false);
    assert.deepEqual(names(heap), ['in']);
  });

  it('moves an item pushed while another heap holds it', () => {
    const one = new IndexedHeap<Node>(byKey);
    const two = new IndexedHeap<Node>(byKey);
    const [a, b] = nodes(['a', 0], ['b', 0]) as [Node, Node];
    one.push(a);
    one.push(b);
    two.push(a);
    assert.equal(one.has(a), false);
    assert.equal(two.has(a), true);
    assert.deepEqual(names(one), ['b']);
    assert.deepEqual(names(two), ['a']);
    assert.equal(one.remove(a), false);
  });

  it('forgets every item on clear, so they can be pushed again', () => {
    const heap = new IndexedHeap<Node>(byKey);
    const list = nodes(['a', 2], ['b', 1]);
    for (const n of list) heap.push(n);
    heap.clear();
    assert.equal(heap.size, 0);
    assert.ok(list.every((n) => !heap.has(n)));
    heap.push(list[0]!);
    assert.deepEqual(names(heap), ['a']);
  });

  it('finds the first accepted item, visiting items best-first without changing the heap', () => {
    const heap = new IndexedHeap<Node>(byKey);
    const list = Array.from({ length: 60 }, (_, i) => Object.assign(new KeyedNode(`n${i}`), { key: (i * 37) % 11 }));
    for (const n of list) heap.push(n);
    const before = names(heap);
    const visited: string[] = [];
    const found = heap.find((n) => {
      visited.push(n.value);
      return n.key === 7 && Number(n.value.slice(1)) % 2 === 1;
    });
    const expected = before.find((name) => list[Number(name.slice(1))]!.key === 7 && Number(name.slice(1)) % 2 === 1);
    assert.equal(found?.value, expected);
    assert.deepEqual(visited, before.slice(0, before.indexOf(expected!) + 1));
    assert.equal(heap.find(() => false), undefined);
    assert.deepEqual(names(heap), before);
  });

  it('takes any comparator: highest first, ties by a second field, FIFO only when both are equal', () => {
    class Job extends HeapNode {
      constructor(
        readonly name: string,
        readonly priority: number,
        readonly rank: number,
      ) {
        super();
      }
    }
    const heap = new IndexedHeap<Job>((a, b) => b.priority - a.priority || a.rank - b.rank);
    for (const job of [new Job('low', 1, 0), new Job('b', 5, 2), new Job('a', 5, 1), new Job('c1', 5, 3), new Job('c2', 5, 3)]) heap.push(job);
    assert.deepEqual(
      heap.toArray().map((j) => j.name),
      ['a', 'b', 'c1', 'c2', 'low'],
    );
  });
});

/*
 * The model: an array of (item, key, insertion number), sorted on demand. Two heaps share twelve items so that
 * pushes move items between heaps; keys come from a small range so that ties are common.
 */
type Op =
  | { readonly kind: 'push'; readonly heap: 0 | 1; readonly item: number; readonly key: number }
  | { readonly kind: 'update'; readonly heap: 0 | 1; readonly item: number; readonly key: number }
  | { readonly kind: 'remove'; readonly heap: 0 | 1; readonly item: number }
  | { readonly kind: 'pop'; readonly heap: 0 | 1 }
  | { readonly kind: 'find'; readonly heap: 0 | 1; readonly modulo: number }
  | { readonly kind: 'clear'; readonly heap: 0 | 1 };

const ITEMS = 12;
const heapArb = fc.constantFrom(0 as const, 1 as const);
const itemArb = fc.nat(ITEMS - 1);
const keyArb = fc.nat(4);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('push' as const), heap: heapArb, item: itemArb, key: keyArb }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('update' as const), heap: heapArb, item: itemArb, key: keyArb }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('remove' as const), heap: heapArb, item: itemArb }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('pop' as const), heap: heapArb }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('find' as const), heap: heapArb, modulo: fc.integer({ min: 2, max: 5 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('clear' as const), heap: heapArb }) },
);

interface Entry {
  readonly item: number;
  readonly key: number;
  readonly seq: number;
}

function runAgainstModel(ops: readonly Op[]): void {
  const items = Array.from({ length: ITEMS }, (_, i) => new KeyedNode(i));
  const heaps = [new IndexedHeap<KeyedNode<number>>(byKey), new IndexedHeap<KeyedNode<number>>(byKey)] as const;
  const models: [Entry[], Entry[]] = [[], []];
  let seq = 0;
  const sorted = (h: 0 | 1): number[] => [...models[h]].sort((a, b) => a.key - b.key || a.seq - b.seq).map((e) => e.item);
  const without = (item: number): void => {
    models[0] = models[0].filter((e) => e.item !== item);
    models[1] = models[1].filter((e) => e.item !== item);
  };
  for (const op of ops) {
    const heap = heaps[op.heap];
    const model = (): Entry[] => models[op.heap];
    switch (op.kind) {
      case 'push':
        items[op.item]!.key = op.key;
        heap.push(items[op.item]!);
        without(op.item);
        models[op.heap].push({ item: op.item, key: op.key, seq: seq++ });
        break;
      case 'update': {
        const held = model().some((e) => e.item === op.item);
        // Only a held item's key may change: the heap owning it must be told.
        if (held) items[op.item]!.key = op.key;
        assert.equal(heap.update(items[op.item]!), held);
        if (held) {
          models[op.heap] = model().filter((e) => e.item !== op.item);
          models[op.heap].push({ item: op.item, key: op.key, seq: seq++ });
        }
        break;
      }
      case 'remove': {
        const held = model().some((e) => e.item === op.item);
        assert.equal(heap.remove(items[op.item]!), held);
        models[op.heap] = model().filter((e) => e.item !== op.item);
        break;
      }
      case 'pop': {
        const first = sorted(op.heap)[0];
        assert.equal(heap.pop()?.value, first);
        models[op.heap] = model().filter((e) => e.item !== first);
        break;
      }
      case 'find': {
        const accept = (item: number): boolean => item % op.modulo === 0;
        assert.equal(heap.find((n) => accept(n.value))?.value, sorted(op.heap).find(accept));
        break;
      }
      case 'clear':
        heap.clear();
        models[op.heap] = [];
        break;
    }
    for (const h of [0, 1] as const) {
      const order = sorted(h);
      assert.equal(heaps[h].size, order.length);
      assert.equal(heaps[h].peek()?.value, order[0]);
      assert.deepEqual(
        heaps[h].toArray().map((n) => n.value),
        order,
      );
      for (const [i, item] of items.entries()) assert.equal(heaps[h].has(item), order.includes(i));
    }
  }
  // Draining each heap gives the model's order.
  for (const h of [0, 1] as const) {
    const drained: number[] = [];
    for (let n = heaps[h].pop(); n !== undefined; n = heaps[h].pop()) drained.push(n.value);
    assert.deepEqual(drained, sorted(h));
  }
}

describe('IndexedHeap: agrees with a sorted array', () => {
  it('through random pushes, updates, removals, pops, finds and clears on two heaps sharing their items', () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 200 }), (ops) => runAgainstModel(ops)),
      { numRuns: 300 },
    );
  });

  it('on a large heap with few distinct keys, drained in order', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(6), fc.boolean()), { minLength: 200, maxLength: 2000 }), (list) => {
        const heap = new IndexedHeap<KeyedNode<number>>(byKey);
        const all = list.map(([key], i) => Object.assign(new KeyedNode(i), { key }));
        for (const n of all) heap.push(n);
        // Remove the flagged items and give every third remaining one a new key: each then goes last among its peers.
        const kept = all.filter((_, i) => !list[i]![1]);
        for (const [i, n] of all.entries()) if (list[i]![1]) heap.remove(n);
        const order: { n: KeyedNode<number>; seq: number }[] = kept.map((n, i) => ({ n, seq: i }));
        let seq = order.length;
        for (const [i, e] of order.entries()) {
          if (i % 3 !== 0) continue;
          e.n.key = (e.n.key * 5 + 1) % 7;
          heap.update(e.n);
          e.seq = seq++;
        }
        const expected = order.sort((a, b) => a.n.key - b.n.key || a.seq - b.seq).map((e) => e.n.value);
        const drained: number[] = [];
        for (let n = heap.pop(); n !== undefined; n = heap.pop()) drained.push(n.value);
        assert.deepEqual(drained, expected);
      }),
      { numRuns: 50 },
    );
  });
});

describe('IndexedHeap: a run of changes without a read', () => {
  it('records them and orders the array again at the next read, with the order of one-by-one changes', () => {
    const N = 300;
    type Change = readonly [kind: 'push' | 'update' | 'remove', item: number, key: number];
    const changeArb = fc.tuple(fc.constantFrom('push' as const, 'update' as const, 'remove' as const), fc.nat(N - 1), fc.nat(9));
    let sawUnordered = false;
    fc.assert(
      fc.property(fc.array(fc.array(changeArb, { maxLength: 400, size: 'max' }), { minLength: 1, maxLength: 8 }), (runs: Change[][]) => {
        const items = Array.from({ length: N }, (_, i) => new KeyedNode(i));
        const heap = new IndexedHeap<KeyedNode<number>>(byKey);
        let model: Entry[] = [];
        let seq = 0;
        const sorted = (): number[] => [...model].sort((a, b) => a.key - b.key || a.seq - b.seq).map((e) => e.item);
        for (const run of runs) {
          for (const [kind, item, key] of run) {
            const held = model.some((e) => e.item === item);
            if (kind === 'push' || (kind === 'update' && held)) {
              items[item]!.key = key;
              if (kind === 'push') heap.push(items[item]!);
              else heap.update(items[item]!);
              model = model.filter((e) => e.item !== item);
              model.push({ item, key, seq: seq++ });
            } else if (kind === 'remove') {
              assert.equal(heap.remove(items[item]!), held);
              model = model.filter((e) => e.item !== item);
            }
          }
          if (!heap.ordered) sawUnordered = true;
          const order = sorted();
          assert.equal(heap.size, order.length);
          assert.equal(heap.peek()?.value, order[0]);
          assert.equal(heap.find((n) => n.value % 3 === 0)?.value, order.find((i) => i % 3 === 0));
          assert.deepEqual(
            heap.toArray().map((n) => n.value),
            order,
          );
          assert.ok(heap.ordered);
          if (order.length > 0) {
            assert.equal(heap.pop()?.value, order[0]);
            model = model.filter((e) => e.item !== order[0]);
          }
        }
      }),
      { numRuns: 60 },
    );
    // The property ran the recorded path, not only the one-by-one one.
    assert.ok(sawUnordered, 'no run of changes was long enough to be recorded without ordering');
  });
});
