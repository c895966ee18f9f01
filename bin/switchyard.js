#!/usr/bin/env node
// The `switchyard-lb` command. In a checkout (src/ present) it runs the TypeScript sources through tsx, so
// nothing needs building and a stale dist/ is never used; an installed package runs the compiled dist/.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const source = new URL('../src/cli/main.ts', import.meta.url);
const compiled = new URL('../dist/cli/main.js', import.meta.url);

let cli;
if (existsSync(fileURLToPath(source))) {
  const { register } = await import('tsx/esm/api');
  register();
  cli = await import(source.href);
} else {
  cli = await import(compiled.href);
}
process.exitCode = await cli.main(process.argv.slice(2));
