/** A service process that registers itself and waits (test/etcd/registration.test.ts kills it). Not a test file. */
import { Etcd3 } from 'etcd3';
import { registerServer } from '../../../src/etcd/index.js';

const { hosts, prefix, port, ttl } = JSON.parse(process.argv[2]!) as { hosts: string[]; prefix: string; port: number; ttl: number };
const client = new Etcd3({ hosts });
const registration = registerServer({ client, prefix, host: '127.0.0.1', port, leaseTtlSeconds: ttl });
await registration.whenRegistered();
process.stdout.write(`registered ${registration.key}\n`);
process.stdin.resume();
