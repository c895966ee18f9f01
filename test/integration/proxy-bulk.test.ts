import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import type net from 'node:net';
import { after, describe, it } from 'node:test';
import { backend, proxyRig, s, waitEvent } from '../proxy/helpers.js';

const MiB = 1024 * 1024;
const BLOCK = randomBytes(MiB);

/** Sends `mib` MiB of pseudo-random data (each MiB stamped with its index) with backpressure; resolves with its SHA-256. */
async function send(socket: net.Socket, mib: number): Promise<string> {
  const hash = createHash('sha256');
  for (let i = 0; i < mib; i++) {
    const chunk = Buffer.from(BLOCK);
    chunk.writeUInt32BE(i, 0);
    chunk.writeUInt32BE(i, MiB / 2);
    hash.update(chunk);
    if (!socket.write(chunk)) await waitEvent(socket, 'drain');
  }
  socket.end();
  return hash.digest('hex');
}

/** Hashes everything the socket receives until its end; resolves with the SHA-256 and the byte count. */
async function receive(socket: net.Socket): Promise<{ digest: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  socket.on('data', (chunk: Buffer) => {
    hash.update(chunk);
    bytes += chunk.length;
  });
  await waitEvent(socket, 'end', 'the end of the transfer', 120_000);
  return { digest: hash.digest('hex'), bytes };
}

describe('TcpProxy bulk transfer (loopback)', () => {
  const cleanup: (() => Promise<void>)[] = [];
  after(async () => {
    while (cleanup.length > 0) await cleanup.pop()!();
  });

  it('relays 1 GiB from the server and 256 MiB from the client at the same time, SHA-256 equal at both ends', async () => {
    let serverSide: Promise<{ sent: string; received: { digest: string; bytes: number } }> | undefined;
    const b = await backend((socket) => {
      serverSide = Promise.all([send(socket, 1024), receive(socket)]).then(([sent, received]) => ({ sent, received }));
    });
    cleanup.push(() => b.close());
    const r = await proxyRig([s('s1', b.port)]);
    cleanup.push(() => r.shutdown());
    const client = r.connect(true);
    const [clientSent, clientReceived] = await Promise.all([send(client, 256), receive(client)]);
    const record = await r.closed();
    const server = await serverSide!;
    assert.equal(clientReceived.bytes, 1024 * MiB);
    assert.equal(clientReceived.digest, server.sent);
    assert.equal(server.received.bytes, 256 * MiB);
    assert.equal(server.received.digest, clientSent);
    assert.equal(record.termination, '--');
    assert.equal(record.bytesOut, 1024 * MiB);
    assert.equal(record.bytesIn, 256 * MiB);
  });
});
