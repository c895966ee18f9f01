/**
 * The `switchyard` command: HAProxy's command line for the parts switchyard implements.
 * `-f <file>` runs a configuration in the foreground (`-d` adds HAProxy's connection trace); `-c -f <file>`
 * checks it; `-v` prints the version (`-vv` also the runtime and what is supported); `-h` prints the usage, the
 * signals and the runtime API commands. `main()` returns the exit status and never calls `process.exit`.
 */
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BALANCE_ALGORITHMS } from '../haproxy/config/keywords.js';
import { commandUsages } from '../haproxy/runtime/commands.js';
import { checkConfigFiles } from './check.js';
import { RUN_SIGNALS, type RunSignal, runConfigFiles } from './run.js';

/** Where the command writes and what it knows about its process (injected by tests). */
export interface CliIo {
  readonly stdout: (line: string) => void;
  readonly stderr: (line: string) => void;
  readonly pid: number;
  readonly executable: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Subscribes to a process signal (run mode); returns the unsubscribe function. @defaultValue process.on */
  readonly onSignal?: (signal: RunSignal, handler: () => void) => () => void;
}

const USAGE = [
  'Usage : switchyard [-f <cfgfile>]* [ -vdVcq ] [-- <cfgfile>*]',
  '        -v displays version ; -vv also shows the runtime and what is supported.',
  '        -h, --help displays this help on stdout',
  '        -f <cfgfile> reads this configuration file (repeatable: the files are one configuration)',
  '        -c check mode : only check config files and exit (0 valid, 1 errors, 2 nothing to listen on)',
  '        -q quiet mode : don\'t display messages',
  '        -d debug mode : trace every connection on stdout',
  '        -db foreground mode (switchyard always runs in the foreground)',
  '        -V verbose mode (accepted: messages are shown unless -q)',
];

/** `-h`: the usage, then what HAProxy users look up next: the signals and the runtime API. */
function help(version: string): string[] {
  return [
    versionLine(version),
    ...USAGE,
    '',
    'Signals (run mode):',
    ...RUN_SIGNALS.map(([signal, what]) => `        ${signal.padEnd(8)} ${what}`),
    '',
    'Runtime API, on each \'stats socket\' of the global section (echo "show stat" | socat stdio <socket>):',
    ...commandUsages().map((usage) => `        ${usage}`),
    '',
    'For a long-lived process run node_modules/.bin/switchyard, not npx: signals sent to npx reach npm, not switchyard.',
    'See docs/haproxy.md ("Running a configuration") for a systemd unit.',
  ];
}

function versionLine(version: string): string {
  return `switchyard version ${version} - HAProxy 2.6 TCP configuration subset`;
}

/** `-v`: HAProxy's shape (version, then what it runs on); `-vv` adds the runtime and the supported subset. */
function versionLines(version: string, verbose: boolean): string[] {
  const lines = [versionLine(version), `Running on: Node.js ${process.version} ${process.platform} ${process.arch}`];
  if (!verbose) return lines;
  const v = process.versions;
  return [
    ...lines,
    `Package: switchyard-lb ${version} (${dirname(fileURLToPath(new URL('../../package.json', import.meta.url)))})`,
    `Runtime: V8 ${v.v8}, libuv ${v.uv}${v.openssl === undefined ? '' : `, OpenSSL ${v.openssl}`}`,
    'Modes: tcp (http only for a section that serves the stats page)',
    `Balance algorithms: ${BALANCE_ALGORITHMS.join(' ')}; hash-type map-based consistent`,
    'Health checks: check (TCP connect), option tcp-check, option httpchk; observe layer4',
    'Runtime API: stats socket <path>|ipv4@<host>:<port>, levels user operator admin',
  ];
}

/** The package version, read from package.json next to `src/` or `dist/`. */
export function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    return 'unknown';
  }
}

function defaultIo(): CliIo {
  return {
    stdout: (line) => process.stdout.write(`${line}\n`),
    stderr: (line) => process.stderr.write(`${line}\n`),
    pid: process.pid,
    executable: process.argv[1] ?? 'switchyard',
    env: process.env,
    onSignal: (signal, handler) => {
      process.on(signal, handler);
      return () => process.off(signal, handler);
    },
  };
}

/** Runs the command with `argv` (without `node` and the script) and returns the exit status. */
export async function main(argv: readonly string[], io: CliIo = defaultIo()): Promise<number> {
  const files: string[] = [];
  let check = false;
  let quiet = false;
  let version: 'short' | 'verbose' | undefined;
  let showHelp = false;
  let debug = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--') {
      files.push(...argv.slice(i + 1));
      break;
    }
    switch (arg) {
      case '-c': check = true; break;
      case '-q': quiet = true; break;
      case '-v': case '--version': version ??= 'short'; break;
      case '-vv': version = 'verbose'; break;
      case '-d': debug = true; break;
      case '-db': case '-V': break;
      case '-f': {
        const file = argv[i + 1];
        if (file === undefined) {
          io.stderr(`[ALERT]    (${io.pid}) : Cannot load configuration file/directory : '-f' expects a file name.`);
          return 1;
        }
        files.push(file);
        i++;
        break;
      }
      case '-h': case '--help': showHelp = true; break;
      default:
        io.stderr(`[ALERT]    (${io.pid}) : unknown option '${arg}'.`);
        for (const line of USAGE) io.stderr(line);
        return 1;
    }
  }
  // Asked for, help and version win over everything else on the line (`switchyard -f x.cfg -h` prints help).
  if (showHelp) {
    for (const line of help(packageVersion())) io.stdout(line);
    return 0;
  }
  if (version !== undefined) {
    for (const line of versionLines(packageVersion(), version === 'verbose')) io.stdout(line);
    return 0;
  }
  if (files.length === 0) {
    for (const line of USAGE) io.stderr(line);
    return 1;
  }
  if (!check) {
    const strip = (write: (line: string) => void) => (text: string): void => {
      for (const line of text.replace(/\n$/, '').split('\n')) write(line);
    };
    return runConfigFiles(files, {
      stdout: strip(io.stdout),
      stderr: strip(io.stderr),
      pid: io.pid,
      executable: io.executable,
      version: packageVersion(),
      env: io.env,
      onSignal: io.onSignal ?? (() => () => {}),
    }, { quiet, debug });
  }
  const report = await checkConfigFiles(files, { pid: io.pid, version: packageVersion(), executable: io.executable, quiet, env: io.env });
  for (const line of report.stderr) io.stderr(line);
  for (const line of report.stdout) io.stdout(line);
  return report.exitCode;
}
