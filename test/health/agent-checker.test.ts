import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { describe, it } from 'node:test';
import { ManualClock } from '../../src/clock.js';
import { AgentChecker, agentChecker } from '../../src/health/agent-checker.js';
import { Pool } from '../../src/pool.js';
import { flush } from './support.js';

function pool(clock: ManualClock) {
  return new Pool('fe', { clock, servers: [
    { name: 'a1', host: '127.0.0.1', port: 1, weight: 10, agent: true },
    { name: 'a2', host: '127.0.0.1', port: 2, weight: 10, agent: true },
    { name: 'plain', host: '127.0.0.1', port: 3 },
  ] });
}

/** Advances a manual clock `ms` one millisecond at a time, letting reports settle. */
async function run(clock: ManualClock, ms: number): Promise<void> {
  clock.advance(0);
  for (let i = 0; i <= ms; i++) {
    await flush();
    if (i < ms) clock.advance(1);
  }
  await flush();
}

describe('AgentChecker with a report function (a service reports its own load)', () => {
  it('asks every agent server on the agent schedule and applies the words through the pool', async () => {
    const clock = new ManualClock();
    const p = pool(clock);
    const asked: [number, string][] = [];
    let reply = 'up 75%';
    const checker = agentChecker(p, { clock, interMs: 100, report: async (server) => {
      asked.push([clock.now(), server.name]);
      return reply;
    } });
    await run(clock, 0);
    assert.deepEqual(asked, [[0, 'a1']]);
    await run(clock, 50);
    assert.deepEqual(asked, [[0, 'a1'], [50, 'a2']]);
    assert.deepEqual([p.get('a1').weight, p.get('a1').agentCheck?.info, p.get('plain').agentCheck], [7, 'via agent : up', undefined]);
    reply = 'down #maintenance window';
    await run(clock, 100);
    assert.deepEqual(asked.map(([t]) => t), [0, 50, 100, 150]);
    assert.deepEqual([p.get('a1').status, p.get('a2').status], ['DOWN (agent)', 'DOWN (agent)']);
    await checker.close();
    await run(clock, 300);
    assert.equal(asked.length, 4, 'no report after close()');
  });

  it('a report that rejects records PROCERR and leaves the server alone; a connection error is L4CON', async () => {
    const clock = new ManualClock();
    const p = pool(clock);
    const checker = new AgentChecker(p, { clock, interMs: 100, report: async (server) => {
      if (server.name === 'a1') throw new Error('load unknown');
      throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    } });
    await run(clock, 60);
    assert.deepEqual([p.get('a1').agentCheck?.status, p.get('a1').agentCheck?.info, p.get('a1').status], ['PROCERR', 'load unknown', 'no check']);
    assert.deepEqual([p.get('a2').agentCheck?.status, p.get('a2').agentCheck?.info], ['L4CON', 'Connection refused']);
    await checker.close();
  });

  it('rejects bad options naming the field', () => {
    const p = pool(new ManualClock());
    assert.throws(() => new AgentChecker(p, { interMs: 0, autoStart: false }), /interMs must be a positive number of milliseconds, got 0/);
    assert.throws(() => new AgentChecker(p, { report: 'up' as never, autoStart: false }), /report must be an async function/);
    assert.throws(() => new AgentChecker(p, { servers: { a1: { port: 0 } }, autoStart: false }), /servers\.a1\.port must be an integer from 1 to 65535, got 0/);
  });
});

describe("AgentChecker over TCP (HAProxy's agent protocol)", () => {
  it('sends agent-send, reads one line and applies it; an incomplete line keeps the status; a closed port is L4CON', async () => {
    const received: string[] = [];
    let reply = 'drain 50%\n';
    const agent = net.createServer((socket) => {
      socket.on('error', () => {});
      socket.once('data', (d: Buffer) => {
        received.push(d.toString('latin1'));
        socket.end(reply);
      });
    });
    agent.listen(0, '127.0.0.1');
    await once(agent, 'listening');
    const port = (agent.address() as net.AddressInfo).port;
    const clock = new ManualClock();
    const p = new Pool('fe', { clock, servers: [{ name: 's1', host: '127.0.0.1', port: 1, weight: 10, agent: true }] });
    const s1 = p.get('s1');
    const checker = new AgentChecker(p, { autoStart: false, servers: { s1: { port, send: 'hello\n', interMs: 60_000 } } });
    const next = () => new Promise<void>((resolve) => p.once('agent:check', () => resolve()));
    const start = (): void => {
      checker.start();
      clock.advance(0);
    };
    try {
      let checked = next();
      start();
      await checked;
      assert.deepEqual(received, ['hello\n']);
      assert.deepEqual([s1.status, s1.weight, s1.agentCheck?.status], ['DRAIN (agent)', 5, 'CHECKED']);
      await checker.stop();
      reply = 'up';
      checked = next();
      start();
      await checked;
      assert.deepEqual([s1.agentCheck?.status, s1.agentCheck?.info], ['CHECKED', 'Ignoring incomplete line from agent']);
      await checker.stop();
      await new Promise<void>((resolve) => agent.close(() => resolve()));
      checked = next();
      start();
      await checked;
      assert.deepEqual([s1.agentCheck?.status, s1.agentCheck?.info, s1.agentHealth], ['L4CON', 'Connection refused', 1]);
    } finally {
      await checker.close();
      if (agent.listening) agent.close();
    }
  });
});
