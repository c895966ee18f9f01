import { once } from 'node:events';
import net from 'node:net';
import tls from 'node:tls';

/**
 * Small protocol responders for the protocol-check tests, each on 127.0.0.1, port 0: an SMTP server (banner, a reply
 * per command line), an LDAP server (answers a BindRequest with a bind response of a chosen resultCode), a TLS
 * server without certificate (Node's TLS stack answers any ClientHello with an alert), and a scripted one
 * (a greeting, then one reply per chunk received). Each records what it received; `close()` destroys every socket.
 */
export interface Responder {
  readonly port: number;
  /** What each connection sent, in order of arrival (latin1 text). */
  readonly received: string[];
  /** Connections accepted. */
  readonly accepted: () => number;
  /** Resolves when a connection has been answered `count` times in all. */
  answered(count: number): Promise<void>;
  close(): Promise<void>;
}

async function serve(onSocket: (socket: net.Socket, record: (text: string) => void, answered: () => void) => void): Promise<Responder> {
  const sockets = new Set<net.Socket>();
  const received: string[] = [];
  let accepted = 0;
  let answers = 0;
  const waiters: { count: number; resolve: () => void }[] = [];
  const answered = (): void => {
    answers++;
    for (const w of waiters.filter((x) => answers >= x.count)) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
  };
  const server = net.createServer((socket) => {
    accepted++;
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
    onSocket(socket, (text) => received.push(text), answered);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as net.AddressInfo).port,
    received,
    accepted: () => accepted,
    answered: (count) => (answers >= count ? Promise.resolve() : new Promise((resolve) => waiters.push({ count, resolve }))),
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * An SMTP responder: `banner` on accept, then for each command line the reply `replies[command verb]`
 * (`HELO`, `EHLO`, `QUIT`…; none = stay silent); `QUIT` answered closes the connection.
 */
export function smtpResponder(banner: string, replies: Readonly<Record<string, string>>): Promise<Responder> {
  return serve((socket, record, answered) => {
    socket.write(`${banner}\r\n`);
    let buffer = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      for (let eol = buffer.indexOf('\r\n'); eol >= 0; eol = buffer.indexOf('\r\n')) {
        const line = buffer.slice(0, eol);
        buffer = buffer.slice(eol + 2);
        record(line);
        const verb = line.split(' ')[0]!.toUpperCase();
        const reply = replies[verb];
        if (reply === undefined) continue;
        if (verb === 'QUIT') socket.end(`${reply}\r\n`);
        else socket.write(`${reply}\r\n`);
        answered();
      }
    });
  });
}

/**
 * An LDAP responder: reads one BindRequest and answers a BindResponse (message id 1) with `resultCode`, or with
 * `raw` bytes instead when given. Records the request as hex.
 */
export function ldapResponder(answer: { readonly resultCode: number } | { readonly raw: Buffer | string }): Promise<Responder> {
  const reply = 'raw' in answer
    ? (typeof answer.raw === 'string' ? Buffer.from(answer.raw, 'latin1') : answer.raw)
    : Buffer.from([0x30, 0x0c, 0x02, 0x01, 0x01, 0x61, 0x07, 0x0a, 0x01, answer.resultCode, 0x04, 0x00, 0x04, 0x00]);
  return serve((socket, record, answered) => {
    socket.once('data', (chunk: Buffer) => {
      record(chunk.toString('hex'));
      socket.write(reply);
      answered();
    });
  });
}

/** Node's TLS stack with no certificate: answers any ClientHello with a handshake-failure alert. */
export function tlsResponder(): Promise<Responder> {
  return serve((socket, _record, answered) => {
    const secure = new tls.TLSSocket(socket, { isServer: true, secureContext: tls.createSecureContext({}) });
    secure.on('error', () => answered());
  });
}

/** A scripted responder: `greeting` on accept, then one reply per chunk received (then silence); `close` ends after the last. */
export function scriptedResponder(greeting: string | Buffer | undefined, replies: readonly (string | Buffer)[], close = false): Promise<Responder> {
  return serve((socket, record, answered) => {
    if (greeting !== undefined) socket.write(greeting);
    let next = 0;
    socket.on('data', (chunk: Buffer) => {
      record(chunk.toString('latin1'));
      const reply = replies[next++];
      if (reply === undefined) return;
      if (close && next === replies.length) socket.end(reply);
      else socket.write(reply);
      answered();
    });
  });
}
