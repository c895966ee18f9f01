/**
 * The grpc-js-xds side of the oracle test, in a child process of its own (grpc-js-xds keeps one xDS client per
 * process and leaves 15-minute timers behind when localities or priorities go away, which would keep a
 * test process alive; a child is stopped by PID instead).
 *
 * Environment: GRPC_XDS_BOOTSTRAP_CONFIG (the bootstrap), ORACLE_TARGET (`xds:///name`), ORACLE_METHOD.
 * Reads one JSON command per line on stdin: `{"requests": N}`; writes `{"shares": {id: share}}` once the
 * channel's picker has settled on a set of backends (the same set in two batches in a row), then N RPCs.
 * Exits when stdin closes.
 */
import readline from 'node:readline';
import { Client, credentials } from '@grpc/grpc-js';
import { register } from '@grpc/grpc-js-xds';

register();
const identity = (b: Buffer): Buffer => b;
const method = process.env['ORACLE_METHOD']!;
const client = new Client(process.env['ORACLE_TARGET']!, credentials.createInsecure());
// A channel resolves lazily: ask it to connect so that it subscribes at once.
client.getChannel().getConnectivityState(true);

function who(): Promise<string> {
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(method, identity, identity, Buffer.alloc(0), { deadline: Date.now() + 5000 }, (err, value) => (err ? reject(err) : resolve(value!.toString())));
  });
}

async function shares(requests: number): Promise<Record<string, number>> {
  let previous = '';
  for (let batch = 0; batch < 40; batch++) {
    const seen = new Set(await Promise.all(Array.from({ length: 60 }, who)));
    const key = [...seen].sort().join(',');
    if (key === previous) break;
    previous = key;
  }
  const counts = new Map<string, number>();
  for (let i = 0; i < requests; i += 20) {
    for (const id of await Promise.all(Array.from({ length: 20 }, who))) counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return Object.fromEntries([...counts].sort(([a], [b]) => a.localeCompare(b)).map(([k, n]) => [k, n / requests]));
}

const lines = readline.createInterface({ input: process.stdin });
lines.on('line', (line) => {
  const { requests } = JSON.parse(line) as { requests: number };
  shares(requests).then(
    (s) => process.stdout.write(`${JSON.stringify({ shares: s })}\n`),
    (err: unknown) => process.stdout.write(`${JSON.stringify({ error: String(err) })}\n`),
  );
});
lines.on('close', () => process.exit(0));
