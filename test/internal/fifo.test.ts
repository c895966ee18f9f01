import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Fifo } from '../../src/internal/fifo.js';

describe('Fifo', () => {
  it('keeps push order and removes any node in place, once', () => {
    const q = new Fifo<string>();
    const a = q.push('a');
    const b = q.push('b');
    const c = q.push('c');
    q.remove(b);
    q.remove(b);
    assert.deepEqual([...q], ['a', 'c']);
    assert.equal(q.size, 2);
    q.remove(a);
    assert.equal(q.head, c);
    q.remove(c);
    assert.equal(q.head, undefined);
    assert.equal(q.size, 0);
    q.push('d');
    assert.deepEqual([...q], ['d'], 'usable again once emptied');
  });

  it('inserts by rank behind equal ranks, at the head or at the tail', () => {
    const q = new Fifo<number>();
    for (const n of [10, 20, 30]) q.push(n);
    const rank = (n: number): number => Math.floor(n / 10) * 10;
    q.insertSorted(25, rank);
    q.insertSorted(5, rank);
    q.insertSorted(40, rank);
    q.insertSorted(21, rank);
    assert.deepEqual([...q], [5, 10, 20, 25, 21, 30, 40]);
    assert.equal(q.size, 7);
    assert.equal(q.head?.value, 5);
  });

  it('links a node inserted by rank so that removing it and its neighbours keeps the order', () => {
    const q = new Fifo<number>();
    const one = q.push(1);
    const three = q.push(3);
    const two = q.insertSorted(2, (n) => n);
    q.remove(two);
    assert.deepEqual([...q], [1, 3]);
    q.remove(one);
    q.remove(three);
    assert.deepEqual([...q], []);
  });
});
