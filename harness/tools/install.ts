import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { HarnessError, throwIfAborted } from '../errors.ts';
import { ExitCode } from '../exit-codes.ts';
import { exec } from '../util/exec.ts';
import { PACKAGE_ROOT, TOOLS_BIN_DIR } from '../util/paths.ts';
import { formatMs } from '../util/table.ts';
import { checkTools, type ToolStatus } from './check.ts';
import { type AptTool, type GoTool, TOOLS, type Tool } from './manifest.ts';
import { compareVersions, parseGoVersion } from './version.ts';

export interface InstallOptions {
  /** Progress lines for people (one step per line, with elapsed time). */
  log: (line: string) => void;
  signal?: AbortSignal;
  tools?: readonly Tool[];
  /** Who we are; injected so tests can exercise the non-root path. Defaults to process.getuid(). */
  uid?: number;
}

export interface InstallResult {
  readonly installed: readonly string[];
  readonly statuses: readonly ToolStatus[];
  readonly elapsedMs: number;
}

const APT_ENV = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
const POLICY_RC_D = '/usr/sbin/policy-rc.d';

/**
 * Installs every tool that is missing or at the wrong version, then checks again. Debian packages go
 * through apt-get (root only; otherwise the exact command is printed), Go tools are built into
 * .tools/bin with `go install`. Idempotent and quick when everything is present.
 */
export async function installTools(options: InstallOptions): Promise<InstallResult> {
  const started = Date.now();
  const { log, signal } = options;
  const tools = options.tools ?? TOOLS;
  const before = await checkTools(tools);
  const missing = before.filter((s) => !s.ok);
  if (missing.length === 0) {
    return { installed: [], statuses: before, elapsedMs: Date.now() - started };
  }
  for (const s of missing) log(`- ${s.tool.name}: ${s.problem}`);

  const apt = missing.map((s) => s.tool).filter((t): t is AptTool => t.kind === 'apt');
  const go = missing.map((s) => s.tool).filter((t): t is GoTool => t.kind === 'go');
  if (apt.length > 0) await installAptPackages(apt, options);
  throwIfAborted(signal, 'installing tools');
  if (go.length > 0) await installGoTools(go, options);

  const after = await checkTools(tools);
  const stillBad = after.filter((s) => !s.ok);
  if (stillBad.length > 0) {
    throw new HarnessError(
      `tools still not usable after installing:\n${stillBad.map((s) => `  - ${s.tool.name}: ${s.problem}`).join('\n')}`,
      {
        exitCode: ExitCode.Environment,
        hint: 'a Debian package at another version than pinned needs `apt-cache policy <package>`; see README "Troubleshooting"',
      },
    );
  }
  log(`tools ready in ${formatMs(Date.now() - started)}`);
  return { installed: missing.map((s) => s.tool.name), statuses: after, elapsedMs: Date.now() - started };
}

export function aptInstallCommand(packages: readonly string[]): string {
  return `apt-get update && apt-get install -y --no-install-recommends ${packages.join(' ')}`;
}

async function installAptPackages(tools: readonly AptTool[], options: InstallOptions): Promise<void> {
  const { log, signal } = options;
  const packages = [...new Set(tools.map((t) => t.aptPackage))].sort();
  const uid = options.uid ?? process.getuid?.() ?? -1;
  if (uid !== 0) {
    throw new HarnessError(`Debian packages missing: ${packages.join(', ')} (installing them needs root)`, {
      exitCode: ExitCode.Environment,
      hint: `run as root, or install them yourself:\n  sudo sh -c '${aptInstallCommand(packages)}'`,
    });
  }
  const step = async (label: string, args: string[]) => {
    const t0 = Date.now();
    log(`→ ${label}`);
    const r = await exec('apt-get', args, {
      env: APT_ENV,
      ...(signal ? { signal } : {}),
      onLine: (line) => {
        if (line.trim() !== '') log(`  apt | ${line}`);
      },
    });
    if (r.code !== 0) {
      throw new HarnessError(`apt-get ${args.join(' ')} failed with exit code ${r.code}`, {
        exitCode: ExitCode.Environment,
        hint: `the last lines above say why; try by hand: ${aptInstallCommand(packages)}`,
      });
    }
    log(`✓ ${label} (${formatMs(Date.now() - t0)})`);
  };
  // Installing a server package must not start a system-wide daemon (a Redis on 6379, a PostgreSQL
  // cluster on 5432): the stack runs its own. policy-rc.d is Debian's switch for that during an install.
  const guard = await denyServiceStarts();
  try {
    await step('apt-get update', ['update', '-q']);
    await step(`apt-get install ${packages.join(' ')}`, [
      'install',
      '-y',
      '-q',
      '--no-install-recommends',
      ...packages,
    ]);
  } finally {
    await guard();
  }
}

const POLICY_MARKER = '# written by chatim-slo tools install; removed when it ends';

async function denyServiceStarts(): Promise<() => Promise<void>> {
  const existing = await readFile(POLICY_RC_D, 'utf8').catch(() => undefined);
  // The machine's own policy stays as it is; ours (even one a killed install left behind) goes at the end.
  if (existing !== undefined && !existing.includes(POLICY_MARKER)) return async () => {};
  await writeFile(POLICY_RC_D, `#!/bin/sh\n${POLICY_MARKER}\nexit 101\n`, { mode: 0o755 });
  return () => rm(POLICY_RC_D, { force: true });
}

async function installGoTools(tools: readonly GoTool[], options: InstallOptions): Promise<void> {
  const { log, signal } = options;
  const goVersionOut = await exec('go', ['version']).catch(() => undefined);
  const goVersion = goVersionOut?.code === 0 ? parseGoVersion(goVersionOut.stdout) : undefined;
  const needed =
    tools
      .map((t) => t.minGo)
      .sort(compareVersions)
      .at(-1) ?? '1.0';
  if (goVersion === undefined) {
    throw new HarnessError(
      `Go is needed to build ${tools.map((t) => t.name).join(', ')}, but \`go\` is not on PATH`,
      {
        exitCode: ExitCode.Environment,
        hint: `install Go ${needed} or newer (Debian 12's golang-go is 1.19, too old) and put its bin/ on PATH`,
      },
    );
  }
  if (compareVersions(goVersion, needed) < 0) {
    throw new HarnessError(`Go ${goVersion} is too old to build ${tools.map((t) => t.name).join(', ')}`, {
      exitCode: ExitCode.Environment,
      hint: `install Go ${needed} or newer and put it first on PATH (found go${goVersion})`,
    });
  }
  const scratch = path.join(PACKAGE_ROOT, '.tools', 'gobin-tmp');
  await mkdir(TOOLS_BIN_DIR, { recursive: true });
  for (const tool of tools) {
    throwIfAborted(signal, 'installing tools');
    const target = `${tool.module}/${tool.pkg}@${tool.version}`;
    const t0 = Date.now();
    log(`→ go install ${target} (first build downloads modules; takes a while)`);
    await rm(scratch, { recursive: true, force: true });
    const args = ['install', ...(tool.ldflags ? [`-ldflags=${tool.ldflags}`] : []), target];
    const r = await exec('go', args, {
      // GOTOOLCHAIN=local: build with the Go we checked, never fetch another toolchain.
      env: { ...process.env, GOBIN: scratch, GOTOOLCHAIN: 'local', GOFLAGS: '-trimpath' },
      ...(signal ? { signal } : {}),
      onLine: (line) => log(`  go | ${line}`),
    });
    if (r.code !== 0) {
      throw new HarnessError(`go install ${target} failed with exit code ${r.code}`, {
        exitCode: ExitCode.Environment,
        hint: 'the Go module proxy must be reachable (GOPROXY); the lines above say what failed',
      });
    }
    await rename(path.join(scratch, tool.goBinaryName), tool.binary);
    log(`✓ ${tool.name} ${tool.version} → ${tool.binary} (${formatMs(Date.now() - t0)})`);
  }
  await rm(scratch, { recursive: true, force: true });
}
