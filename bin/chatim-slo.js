#!/usr/bin/env node
// Thin launcher: registers the TypeScript loader and hands over to the CLI. No logic lives here.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../harness/cli/main.ts');
process.exitCode = await main({
  argv: process.argv.slice(2),
  env: process.env,
  stdout: process.stdout,
  stderr: process.stderr,
});
