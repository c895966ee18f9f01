import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { agentMaxconn, agentWeight, planAgentReply } from '../../src/state/agent-reply.js';

const plan = (line: string) => planAgentReply(line, 10);

describe("HAProxy's agent reply words (tcpcheck_agent_expect_reply)", () => {
  it('reads health words case-insensitively, with the word as written in the info', () => {
    assert.deepEqual(plan('up'), { health: 'up', result: { status: 'L7OK', code: 0, info: 'via agent : up' } });
    assert.deepEqual(plan('DOWN'), { health: 'down', result: { status: 'L7STS', code: 0, info: 'via agent : DOWN' } });
    for (const w of ['stopped', 'fail']) assert.deepEqual(plan(w), { health: 'down', result: { status: 'L7STS', code: 0, info: `via agent : ${w}` } });
  });

  it('keeps the description after # for a health word; an error word or a warning takes its place for up', () => {
    assert.deepEqual(plan('down #going away').result, { status: 'L7STS', code: 0, info: 'via agent : down (going away)' });
    assert.deepEqual(plan('up bogus 50%').result, { status: 'L7OK', code: 0, info: 'via agent : up (bogus)' });
    assert.equal(plan('up 50%').weight, 5);
    assert.deepEqual(plan('up 20x%').result, { status: 'L7OK', code: 0, info: 'via agent : up (Trailing garbage in weight string)' });
  });

  it('without a health word: CHECKED, with the first error word or the first warning', () => {
    assert.deepEqual(plan('50%'), { weight: 5, result: { status: 'CHECKED' } });
    assert.deepEqual(plan('down#going away'), { result: { status: 'CHECKED', info: 'agent reports an error : down#going' } });
    assert.deepEqual(plan('bogus'), { result: { status: 'CHECKED', info: 'agent reports an error : bogus' } });
    assert.deepEqual(plan('maxconn:x'), { result: { status: 'CHECKED', info: 'agent warns : maxconn string empty or preceded by garbage' } });
  });

  it('reads admin words, weights of the initial weight (capped at 256) and maxconn, the last of a kind winning', () => {
    assert.deepEqual(plan('75% drain'), { admin: 'drain', weight: 7, result: { status: 'CHECKED' } });
    assert.deepEqual(plan('300% maxconn:7'), { weight: 30, maxconn: 7, result: { status: 'CHECKED' } });
    assert.deepEqual(plan('100% ready up maxconn:0'), { admin: 'ready', weight: 10, maxconn: 0, health: 'up', result: { status: 'L7OK', code: 0, info: 'via agent : up' } });
    assert.deepEqual(plan('drain,maint\tready'), { admin: 'ready', result: { status: 'CHECKED' } });
    assert.equal(agentWeight('5000%', 10), 256);
    assert.equal(agentMaxconn(''), 'Require <maxconn>.');
  });
});
