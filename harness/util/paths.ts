import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package root (the folder holding package.json), wherever the process was started from. */
export const PACKAGE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Where `go install` puts the project's Go-built tools (k6 is not among them; see the tools manifest). */
export const TOOLS_BIN_DIR = path.join(PACKAGE_ROOT, '.tools', 'bin');
