import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KeyedHeap } from '../../src/strategies/internal/keyed-heap.js';
import { mulberry32 } from '../helpers/prng.js';


describe('KeyedHeap', () => {
  it('orders by key, equal keys first-in first-out, a re-keyed item behind its new peers', () => {
    const heap = new KeyedHeap<string>();
    heap.set('a', 0);
    heap.set('b', 0);
    heap.set('c', 0);
    assert.deepEqual(heap.toArray(), ['a', 'b', 'c']);
    heap.set('a', 0);
    assert.deepEqual(heap.toArray(), ['b', 'c', 'a']);
    heap.set('c', 5);
    heap.set('b', 5);
    assert.deepEqual(heap.toArray(), ['a', 'c', 'b']);
    assert.equal(heap.peek(), 'a');
    assert.equal(heap.keyOf('b'), 5);
  });

  it('finds the first accepted item in order without changing the heap', () => {
    const heap = new KeyedHeap<number>();
    for (let i = 0; i < 50; i++) heap.set(i, (i * 37) % 11);
    const before = heap.toArray();
    assert.equal(heap.find((x) => x % 7 === 3), before.find((x) => x % 7 === 3));
    assert.equal(heap.find(() => false), undefined);
    assert.deepEqual(heap.toArray(), before);
  });

  it('agrees with a sorted list through random sets, deletes and finds', () => {
    const rnd = mulberry32(11);
    const heap = new KeyedHeap<number>();
    let model: { item: number; key: number; seq: number }[] = [];
    let seq = 0;
    for (let step = 0; step < 5000; step++) {
      const item = Math.floor(rnd() * 40);
      const r = rnd();
      if (r < 0.6) {
        const key = Math.floor(rnd() * 8);
        heap.set(item, key);
        model = model.filter((e) => e.item !== item);
        model.push({ item, key, seq: seq++ });
      } else if (r < 0.85) {
        assert.equal(heap.delete(item), model.some((e) => e.item === item));
        model = model.filter((e) => e.item !== item);
      } else {
        const ordered = [...model].sort((a, b) => a.key - b.key || a.seq - b.seq).map((e) => e.item);
        assert.equal(heap.peek(), ordered[0]);
        assert.equal(heap.find((x) => x % 3 === 0), ordered.find((x) => x % 3 === 0));
        assert.deepEqual(heap.toArray(), ordered);
      }
      assert.equal(heap.size, model.length);
    }
  });
});
