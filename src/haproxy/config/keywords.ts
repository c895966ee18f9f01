/**
 * Which HAProxy 2.6 keywords switchyard reads, which it knowingly does not support (an error naming the
 * reason), and which it accepts but ignores because they have no meaning inside a Node process (a warning).
 * Anything else is an unknown keyword, with a "did you mean" when a supported one is close.
 */

/** Sections switchyard reads. */
export const SUPPORTED_SECTIONS = ['global', 'defaults', 'frontend', 'backend', 'listen'] as const;

/** The kind of a supported section. */
export type SectionKind = (typeof SUPPORTED_SECTIONS)[number];

/** HAProxy sections switchyard does not read, with the reason given in the error. */
export const UNSUPPORTED_SECTIONS: Readonly<Record<string, string>> = Object.freeze({
  resolvers: 'DNS resolution at runtime is not part of the HAProxy face; use switchyard\'s DNS discovery API',
  peers: 'stick-table replication between processes does not apply to an in-process balancer',
  userlist: 'authentication lists are HTTP features',
  mailers: 'email alerts are not implemented; subscribe to server:down events instead',
  program: 'switchyard does not supervise external programs',
  'http-errors': 'HTTP error pages need mode http',
  ring: 'log rings are not implemented; log to stderr, stdout or UDP',
  cache: 'the HTTP cache needs mode http',
  'fcgi-app': 'FastCGI applications need mode http',
  'log-forward': 'syslog forwarding is not a load-balancing feature',
  'crt-store': 'TLS is not supported',
  traces: 'HAProxy traces are internal to HAProxy',
});

/** Keywords of the `global` section switchyard reads. */
export const GLOBAL_KEYWORDS = ['log', 'log-send-hostname', 'stats', 'spread-checks', 'max-spread-checks', 'server-state-file', 'server-state-base', 'nbthread'] as const;

/**
 * `global` keywords about the HAProxy daemon itself (process, privileges, threads, TLS defaults): accepted
 * so an existing file loads, and reported as a warning since nothing in an embedded library uses them.
 */
export const GLOBAL_IGNORED: Readonly<Record<string, string>> = Object.freeze({
  daemon: 'switchyard runs inside your Node process, in the foreground',
  'master-worker': 'switchyard runs inside your Node process',
  chroot: 'switchyard does not change its root directory; run the host process in a container instead',
  user: 'switchyard does not drop privileges; start the host process as the right user',
  group: 'switchyard does not drop privileges; start the host process as the right group',
  uid: 'switchyard does not drop privileges; start the host process as the right user',
  gid: 'switchyard does not drop privileges; start the host process as the right group',
  pidfile: 'the host process owns its pid file',
  'cpu-map': 'worker threads are not pinned to CPUs (nbthread starts them; the kernel places them)',
  'ulimit-n': 'the host process owns its file-descriptor limit',
  maxconn: 'the process-wide connection limit is not enforced; use server maxconn',
  'hard-stop-after': 'the host process decides how long a graceful stop may last',
  quiet: 'switchyard prints only what you log',
  node: 'switchyard does not print a node name',
  description: 'switchyard does not print a description',
  'ca-base': 'TLS is not supported',
  'crt-base': 'TLS is not supported',
  'ssl-default-bind-ciphers': 'TLS is not supported',
  'ssl-default-bind-ciphersuites': 'TLS is not supported',
  'ssl-default-bind-curves': 'TLS is not supported',
  'ssl-default-bind-options': 'TLS is not supported',
  'ssl-default-server-ciphers': 'TLS is not supported',
  'ssl-default-server-ciphersuites': 'TLS is not supported',
  'ssl-default-server-options': 'TLS is not supported',
  'ssl-dh-param-file': 'TLS is not supported',
  'ssl-server-verify': 'TLS is not supported',
});

/** `global` keywords HAProxy 2.6 knows that switchyard refuses (they would change behaviour if ignored). */
export const GLOBAL_UNSUPPORTED = [
  'busy-polling', 'default-path', 'expose-experimental-directives', 'external-check', 'fd-hard-limit', 'grace',
  'h1-case-adjust', 'h1-case-adjust-file', 'httpclient.resolvers.id', 'httpclient.resolvers.prefer',
  'httpclient.ssl.ca-file', 'httpclient.ssl.verify', 'insecure-fork-wanted', 'insecure-setuid-wanted',
  'issuers-chain-path', 'localpeer', 'log-tag', 'lua-load', 'lua-load-per-thread',
  'lua-prepend-path', 'maxcompcpuusage', 'maxcomprate', 'maxconnrate', 'maxpipes', 'maxsessrate', 'maxsslconn',
  'maxsslrate', 'maxzlibmem', 'mworker-max-reloads', 'noepoll', 'noevports', 'nogetaddrinfo', 'nokqueue',
  'nopoll', 'noreuseport', 'nosplice', 'numa-cpu-mapping', 'pp2-never-send-local', 'presetenv',
  'profiling.memory', 'profiling.tasks', 'resetenv', 'set-dumpable',
  'set-var', 'set-var-fmt', 'setenv', 'ssl-engine', 'ssl-load-extra-del-ext', 'ssl-load-extra-files',
  'ssl-mode-async', 'ssl-propquery', 'ssl-provider', 'ssl-provider-path', 'ssl-skip-self-issued-ca',
  'strict-limits', 'thread-group', 'thread-groups', 'unix-bind', 'unsetenv', 'zero-warning', 'debug',
  'tune.bufsize', 'tune.maxrewrite', 'tune.ssl.default-dh-param',
] as const;

/** `global` keyword prefixes HAProxy knows: `tune.*` is ignored (with a warning), the others refused. */
export const GLOBAL_PREFIXES = Object.freeze({ ignored: ['tune.'], unsupported: ['51degrees-', 'wurfl-', 'deviceatlas-', 'lua-', 'ssl-', 'httpclient.'] });

/** Keywords of proxy sections switchyard reads (capabilities are checked separately). */
export const PROXY_KEYWORDS = [
  'bind', 'mode', 'balance', 'hash-type', 'hash-balance-factor', 'default_backend', 'use_backend', 'server', 'default-server',
  'timeout', 'retries', 'option', 'tcp-check', 'log', 'log-format', 'dispatch', 'description', 'stats', 'load-server-state-from-file',
  'server-state-file-name',
] as const;

/** The `balance` algorithms switchyard runs (`random` takes an optional `(<draws>)`). */
export const BALANCE_ALGORITHMS = ['roundrobin', 'static-rr', 'leastconn', 'first', 'source', 'random'] as const;

/** `balance` algorithms HAProxy 2.6 knows that switchyard refuses: they hash HTTP or RDP data. */
export const BALANCE_UNSUPPORTED = ['uri', 'url_param', 'hdr', 'rdp-cookie', 'hash'] as const;

/** Proxy keywords HAProxy 2.6 knows that switchyard refuses, with the reason. */
export const PROXY_UNSUPPORTED: Readonly<Record<string, string>> = Object.freeze({
  acl: 'ACLs and content switching are HTTP-mode routing, a non-goal for now',
  'tcp-request': 'tcp-request rules (ACL-based filtering) are not implemented',
  'tcp-response': 'tcp-response rules are not implemented',
  'http-request': 'HTTP rules need mode http',
  'http-response': 'HTTP rules need mode http',
  'http-after-response': 'HTTP rules need mode http',
  'http-check': 'http-check rules are not implemented; option httpchk <method> <uri> is',
  'http-reuse': 'HTTP connection reuse needs mode http',
  'http-error': 'HTTP error pages need mode http',
  redirect: 'redirects need mode http',
  cookie: 'cookie persistence needs mode http',
  'stick-table': 'stick tables are not implemented',
  stick: 'stickiness rules are not implemented',
  'stick-store-request': 'stickiness rules are not implemented',
  'stick-store-response': 'stickiness rules are not implemented',
  'stick-match': 'stickiness rules are not implemented',
  'stick-on': 'stickiness rules are not implemented',
  'server-template': 'server templates need DNS resolvers; use switchyard\'s DNS discovery API',
  'use-server': 'use-server needs ACLs',
  'force-persist': 'persistence rules are not implemented',
  'ignore-persist': 'persistence rules are not implemented',
  persist: 'persistence rules are not implemented',
  capture: 'captures need mode http',
  compression: 'compression needs mode http',
  filter: 'stream filters are not implemented',
  'log-format-sd': 'custom log formats are not implemented',
  'error-log-format': 'custom log formats are not implemented',
  'log-tag': 'per-proxy log tags are not implemented',
  'unique-id-format': 'unique ids need custom log formats',
  'unique-id-header': 'unique ids need mode http',
  maxconn: 'a frontend connection limit is not implemented yet; use server maxconn (with the queue)',
  fullconn: 'dynamic maxconn (minconn/fullconn) is not implemented',
  backlog: 'the listen backlog is fixed by Node',
  'rate-limit': 'session rate limits are not implemented',
  'retry-on': 'retry-on is an HTTP-mode refinement; retries and option redispatch are supported',
  source: 'binding the outgoing source address is not implemented',
  'external-check': 'external check programs are not implemented; use an async probe function',
  'email-alert': 'email alerts are not implemented; subscribe to server:down events instead',
  monitor: 'monitor requests need mode http',
  'monitor-uri': 'monitor requests need mode http',
  'monitor-net': 'monitor requests are not implemented',
  'hash-balance-factor': 'bounded-load consistent hashing is not implemented',
  'max-keep-alive-queue': 'keep-alive queues need mode http',
  'max-session-srv-conns': 'server connection reuse needs mode http',
  'http-send-name-header': 'headers need mode http',
  declare: 'captures need mode http',
  disabled: 'a disabled proxy is not supported; remove the section',
  enabled: 'enabled/disabled proxies are not supported',
  id: 'numeric proxy ids are not used by switchyard',
  grace: 'grace is deprecated in HAProxy',
  transparent: 'transparent proxying needs kernel support Node does not expose',
  'bind-process': 'HAProxy processes do not apply to an in-process balancer',
  errorloc: 'HTTP error pages need mode http',
  errorloc302: 'HTTP error pages need mode http',
  errorloc303: 'HTTP error pages need mode http',
  errorfiles: 'HTTP error pages need mode http',
  guid: 'GUIDs are not used by switchyard',
});

/** Proxy keywords that only matter in mode http: accepted with a warning, as HAProxy ignores them in mode tcp. */
export const PROXY_HTTP_ONLY_IGNORED = ['errorfile'] as const;

/** Options switchyard reads (`option <name>` and `no option <name>`). */
export const SUPPORTED_OPTIONS = [
  'redispatch', 'allbackups', 'tcp-check', 'httpchk', 'log-health-checks', 'tcplog', 'dontlognull', 'httplog',
  'mysql-check', 'pgsql-check', 'redis-check', 'smtpchk', 'ldap-check', 'ssl-hello-chk',
] as const;

/** HTTP-mode options: HAProxy ignores them in a TCP proxy with a warning, and so does switchyard. */
export const HTTP_ONLY_OPTIONS = [
  'forwardfor', 'http-server-close', 'httpclose', 'http-keep-alive', 'http-pretend-keepalive', 'http-no-delay',
  'http-buffer-request', 'http-ignore-probes', 'http-use-proxy-header', 'http-restrict-req-hdr-names',
  'accept-invalid-http-request', 'accept-invalid-http-response', 'h1-case-adjust-bogus-client',
  'h1-case-adjust-bogus-server', 'originalto', 'checkcache', 'disable-h2-upgrade', 'http_proxy',
] as const;

/** Options HAProxy 2.6 knows that switchyard refuses. */
export const UNSUPPORTED_OPTIONS: Readonly<Record<string, string>> = Object.freeze({
  abortonclose: 'abortonclose is not implemented',
  clitcpka: 'TCP keep-alive settings are not implemented yet',
  srvtcpka: 'TCP keep-alive settings are not implemented yet',
  tcpka: 'TCP keep-alive settings are not implemented yet',
  contstats: 'continuous stats are not implemented (stats are always current)',
  'dontlog-normal': 'dontlog-normal is not implemented',
  'external-check': 'external check programs are not implemented; use an async probe function',
  'independent-streams': 'independent-streams is not implemented',
  'spop-check': 'SPOE agents are not implemented',
  'log-separate-errors': 'log-separate-errors is not implemented',
  logasap: 'logasap is not implemented',
  nolinger: 'nolinger is not implemented',
  persist: 'persistence is not implemented',
  'prefer-last-server': 'prefer-last-server needs HTTP connection reuse',
  'socket-stats': 'per-socket stats are not implemented',
  'splice-auto': 'kernel splicing is not available to Node',
  'splice-request': 'kernel splicing is not available to Node',
  'splice-response': 'kernel splicing is not available to Node',
  'tcp-smart-accept': 'tcp-smart-accept is not implemented',
  'tcp-smart-connect': 'tcp-smart-connect is not implemented',
  transparent: 'transparent proxying needs kernel support Node does not expose',
  'idle-close-on-response': 'idle-close-on-response needs mode http',
});

/** Keywords of `server` and `default-server` lines switchyard reads. */
export const SERVER_KEYWORDS = [
  'check', 'no-check', 'inter', 'fastinter', 'downinter', 'rise', 'fall', 'port', 'addr', 'weight', 'backup',
  'no-backup', 'maxconn', 'maxqueue', 'slowstart', 'disabled', 'enabled', 'observe', 'error-limit', 'on-error',
  'on-marked-down', 'on-marked-up', 'send-proxy', 'send-proxy-v2', 'no-send-proxy', 'no-send-proxy-v2',
  'init-state', 'id', 'hash-key', 'agent-check', 'no-agent-check', 'agent-port', 'agent-inter', 'agent-addr', 'agent-send',
] as const;

/** Server keywords HAProxy 2.6 knows that switchyard refuses, with the reason. */
export const SERVER_UNSUPPORTED: Readonly<Record<string, string>> = (() => {
  const tls = 'TLS is not supported';
  const out: Record<string, string> = {
    cookie: 'cookie persistence needs mode http', track: 'tracking another server\'s health is not implemented',
    minconn: 'dynamic maxconn (minconn/fullconn) is not implemented', 'init-addr': 'DNS resolution at start-up is done by the host; give an address',
    resolvers: 'DNS resolvers are not supported; use switchyard\'s DNS discovery API', 'resolve-prefer': 'DNS resolvers are not supported',
    'resolve-net': 'DNS resolvers are not supported', 'resolve-opts': 'DNS resolvers are not supported',
    source: 'binding the outgoing source address is not implemented', usesrc: 'transparent proxying is not supported',
    interface: 'binding to an interface is not implemented', namespace: 'network namespaces are not supported',
    'check-send-proxy': 'sending a PROXY header on checks is not implemented', proto: 'multiplexer protocols need mode http',
    'check-proto': 'multiplexer protocols need mode http', redir: 'redirects need mode http', 'max-reuse': 'connection reuse needs mode http',
    'pool-low-conn': 'connection pools need mode http', 'pool-max-conn': 'connection pools need mode http',
    'pool-purge-delay': 'connection pools need mode http', 'tcp-ut': 'TCP_USER_TIMEOUT is not available to Node', tfo: 'TCP fast open is not available to Node',
    'no-tfo': 'TCP fast open is not available to Node', socks4: 'SOCKS4 is not implemented', 'check-via-socks4': 'SOCKS4 is not implemented',
    'log-proto': 'log servers are configured with log', 'proxy-v2-options': 'PROXY v2 TLVs are not implemented',
    'send-proxy-v2-ssl': tls, 'send-proxy-v2-ssl-cn': tls, 'no-send-proxy-v2-ssl': tls, 'no-send-proxy-v2-ssl-cn': tls,
    ws: 'WebSocket selection needs mode http', shard: 'peers are not supported',
  };
  for (const k of ['ssl', 'no-ssl', 'check-ssl', 'no-check-ssl', 'crt', 'ca-file', 'crl-file', 'ciphers', 'ciphersuites', 'sni',
    'check-sni', 'alpn', 'check-alpn', 'npn', 'verify', 'verifyhost', 'no-verifyhost', 'ssl-reuse', 'no-ssl-reuse',
    'ssl-min-ver', 'ssl-max-ver', 'force-sslv3', 'force-tlsv10', 'force-tlsv11', 'force-tlsv12', 'force-tlsv13',
    'no-sslv3', 'no-tlsv10', 'no-tlsv11', 'no-tlsv12', 'no-tlsv13', 'no-tls-tickets', 'tls-tickets', 'allow-0rtt',
    'curves', 'sigalgs', 'client-sigalgs']) {
    out[k] = tls;
  }
  return Object.freeze(out);
})();

/** `bind` parameters (after the addresses): none is supported; all are refused with this reason. */
export const BIND_PARAMETER_REASON = 'bind options (TLS, PROXY protocol on accept, interface, …) are not supported';

/** Timeouts switchyard reads (`timeout <name>`), and HAProxy's full list for its error message. */
export const SUPPORTED_TIMEOUTS = ['connect', 'client', 'server', 'tunnel', 'queue', 'check', 'client-fin', 'server-fin'] as const;

/** HAProxy 2.6's `timeout` names, in the order of its error message. */
export const HAPROXY_TIMEOUTS = [
  'client', 'server', 'connect', 'check', 'queue', 'http-keep-alive', 'http-request', 'tunnel', 'tarpit', 'client-fin', 'server-fin',
] as const;

/** `tcp-check` actions HAProxy 2.6 knows; switchyard reads all but the variable ones. */
export const TCP_CHECK_ACTIONS = ['comment', 'connect', 'send', 'send-binary', 'expect', 'send-lf', 'send-binary-lf', 'set-var', 'set-var-fmt', 'unset-var'] as const;

/** The entry of `record` for `key`, never an inherited property (`constructor`, `__proto__`…). */
export function own(record: Readonly<Record<string, string>>, key: string): string | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}

/** True when `word` starts with one of `prefixes`. */
export function hasPrefix(word: string, prefixes: readonly string[]): boolean {
  return prefixes.some((p) => word.startsWith(p));
}
