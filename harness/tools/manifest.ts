import path from 'node:path';
import { TOOLS_BIN_DIR } from '../util/paths.ts';

/**
 * The one place every external tool and its version is pinned. `chatim-slo tools install` installs
 * what is missing or at the wrong version; `chatim-slo tools check` reports each row.
 *
 * Debian packages are pinned by upstream version (a prefix of the Debian version, so security
 * rebuilds such as +deb12u2 still match); Go tools by exact module version.
 *
 * Not here: k6. Its Go module (go.k6.io/k6, v2: go.k6.io/k6/v2) is AGPL-3.0, and this workplace's
 * package policy marks it "not to use". The load driver is decided by the scenarios issue; see
 * docs/architecture.md ("Decisions").
 */

interface ToolBase {
  /** Short name shown by `tools check` and used by the stack runtime to find the binary. */
  readonly name: string;
  /** Absolute path of the binary once installed. */
  readonly binary: string;
  /** The pinned version: a dotted prefix the found version must match (e.g. 2.42.0 matches 2.42.0+ds). */
  readonly version: string;
  /** How to ask the binary for its version, and where the version is in the answer. */
  readonly versionArgs: readonly string[];
  readonly versionPattern: RegExp;
}

export interface AptTool extends ToolBase {
  readonly kind: 'apt';
  readonly aptPackage: string;
}

export interface GoTool extends ToolBase {
  readonly kind: 'go';
  readonly module: string;
  /** Package path inside the module, built with `go install <module>/<pkg>@<version>`. */
  readonly pkg: string;
  /** The binary name `go install` produces (renamed to `path.basename(binary)`). */
  readonly goBinaryName: string;
  /** Lowest Go release that builds this module (the `go` directive of its go.mod). */
  readonly minGo: string;
  /** `-X` linker flags; Toxiproxy reports "git" as its version unless told otherwise. */
  readonly ldflags?: string;
}

export type Tool = AptTool | GoTool;

const POSTGRES_BIN = '/usr/lib/postgresql/15/bin';
const TOXIPROXY_VERSION = 'v2.12.0';
const TOXIPROXY_LDFLAGS = `-X github.com/Shopify/toxiproxy/v2.Version=${TOXIPROXY_VERSION.slice(1)}`;

export const TOOLS: readonly Tool[] = [
  {
    kind: 'apt',
    name: 'prometheus',
    aptPackage: 'prometheus',
    binary: '/usr/bin/prometheus',
    version: '2.42.0',
    versionArgs: ['--version'],
    versionPattern: /prometheus, version (\S+)/,
  },
  {
    kind: 'apt',
    name: 'promtool',
    aptPackage: 'prometheus',
    binary: '/usr/bin/promtool',
    version: '2.42.0',
    versionArgs: ['--version'],
    versionPattern: /promtool, version (\S+)/,
  },
  {
    kind: 'apt',
    name: 'alertmanager',
    aptPackage: 'prometheus-alertmanager',
    binary: '/usr/bin/prometheus-alertmanager',
    version: '0.25.0',
    versionArgs: ['--version'],
    versionPattern: /alertmanager, version (\S+)/,
  },
  {
    kind: 'apt',
    name: 'amtool',
    aptPackage: 'prometheus-alertmanager',
    binary: '/usr/bin/amtool',
    version: '0.25.0',
    versionArgs: ['--version'],
    versionPattern: /amtool, version (\S+)/,
  },
  {
    kind: 'apt',
    name: 'redis-server',
    aptPackage: 'redis-server',
    binary: '/usr/bin/redis-server',
    version: '7.0',
    versionArgs: ['--version'],
    versionPattern: /\bv=(\S+)/,
  },
  {
    kind: 'apt',
    name: 'postgres',
    aptPackage: 'postgresql',
    binary: path.join(POSTGRES_BIN, 'postgres'),
    version: '15',
    versionArgs: ['--version'],
    versionPattern: /\(PostgreSQL\) (\S+)/,
  },
  {
    kind: 'apt',
    name: 'initdb',
    aptPackage: 'postgresql',
    binary: path.join(POSTGRES_BIN, 'initdb'),
    version: '15',
    versionArgs: ['--version'],
    versionPattern: /\(PostgreSQL\) (\S+)/,
  },
  {
    kind: 'apt',
    name: 'redis-exporter',
    aptPackage: 'prometheus-redis-exporter',
    binary: '/usr/bin/prometheus-redis-exporter',
    version: '1.45.0',
    versionArgs: ['--version'],
    versionPattern: /Exporter (\S+)/,
  },
  {
    kind: 'apt',
    name: 'postgres-exporter',
    aptPackage: 'prometheus-postgres-exporter',
    binary: '/usr/bin/prometheus-postgres-exporter',
    version: '0.11.1',
    versionArgs: ['--version'],
    versionPattern: /version (\S+)/,
  },
  {
    // Validates compose.yaml without a Docker engine (`docker-compose config`), against the
    // compose-spec schema it bundles.
    kind: 'apt',
    name: 'docker-compose',
    aptPackage: 'docker-compose',
    binary: '/usr/bin/docker-compose',
    version: '1.29.2',
    versionArgs: ['--version'],
    versionPattern: /version (\d[^,\s]*)/,
  },
  {
    kind: 'go',
    name: 'toxiproxy-server',
    module: 'github.com/Shopify/toxiproxy/v2',
    pkg: 'cmd/server',
    goBinaryName: 'server',
    binary: path.join(TOOLS_BIN_DIR, 'toxiproxy-server'),
    version: TOXIPROXY_VERSION,
    minGo: '1.23',
    ldflags: TOXIPROXY_LDFLAGS,
    versionArgs: ['-version'],
    versionPattern: /version (\S+)/,
  },
  {
    kind: 'go',
    name: 'toxiproxy-cli',
    module: 'github.com/Shopify/toxiproxy/v2',
    pkg: 'cmd/cli',
    goBinaryName: 'cli',
    binary: path.join(TOOLS_BIN_DIR, 'toxiproxy-cli'),
    version: TOXIPROXY_VERSION,
    minGo: '1.23',
    ldflags: TOXIPROXY_LDFLAGS,
    versionArgs: ['--version'],
    versionPattern: /version (\S+)/,
  },
];

export type ToolName = (typeof TOOLS)[number]['name'];

export function toolByName(name: string): Tool {
  const tool = TOOLS.find((t) => t.name === name);
  if (!tool) throw new Error(`no tool named "${name}" in the tools manifest`);
  return tool;
}
