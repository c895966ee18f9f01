/**
 * The `switchyard` command: HAProxy's command line for the parts switchyard implements.
 * `-f <file>` runs a configuration in the foreground (`-d` adds HAProxy's connection trace); `-c -f <file>`
 * checks it; `-v` prints the version. `main()` returns the exit status and never calls `process.exit`.
 */
import { readFileSync } from 'node:fs';
import { checkConfigFiles } from './check.js';
import { type RunSignal, runConfigFiles } from './run.js';

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
  'Usage : switchyard [-f <cfgfile>]* [ -vcqdV ] [-- <cfgfile>*]',
  '        -v displays version',
  '        -c check mode : only check config files and exit',
  '        -q quiet mode : don\'t display messages',
  '        -f <cfgfile> reads this configuration file (repeatable)',
  '        -d debug mode: trace every connection on stdout (runs in the foreground)',
  '        -db foreground mode (switchyard always runs in the foreground)',
  '        -V verbose mode',
];

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
  let version = false;
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
      case '-v': case '-vv': version = true; break;
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
      case '-h': case '--help':
        for (const line of USAGE) io.stderr(line);
        return 1;
      default:
        io.stderr(`[ALERT]    (${io.pid}) : unknown option '${arg}'.`);
        for (const line of USAGE) io.stderr(line);
        return 1;
    }
  }
  if (version) {
    io.stdout(`switchyard version ${packageVersion()} - HAProxy 2.6 TCP configuration subset`);
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
