import { access, constants } from 'node:fs/promises';
import { exec } from '../util/exec.ts';
import { TOOLS, type Tool } from './manifest.ts';
import { versionMatches } from './version.ts';

export interface ToolStatus {
  readonly tool: Tool;
  /** The version the binary reports, or undefined when it is missing or did not answer. */
  readonly found: string | undefined;
  readonly ok: boolean;
  /** Why it is not ok, in words (missing, wrong version, unreadable version output). */
  readonly problem: string | undefined;
}

export async function checkTool(tool: Tool): Promise<ToolStatus> {
  try {
    await access(tool.binary, constants.X_OK);
  } catch {
    return { tool, found: undefined, ok: false, problem: `not installed (${tool.binary} missing)` };
  }
  let output: string;
  try {
    const r = await exec(tool.binary, tool.versionArgs, { timeoutMs: 15_000 });
    output = `${r.stdout}\n${r.stderr}`;
  } catch (err) {
    return { tool, found: undefined, ok: false, problem: `could not run: ${(err as Error).message}` };
  }
  const found = tool.versionPattern.exec(output)?.[1];
  if (found === undefined) {
    const first = output.trim().split('\n')[0] ?? '';
    return {
      tool,
      found: undefined,
      ok: false,
      problem: `unrecognised version output: ${first.slice(0, 120)}`,
    };
  }
  if (!versionMatches(found, tool.version)) {
    return { tool, found, ok: false, problem: `wrong version: found ${found}, want ${tool.version}` };
  }
  return { tool, found, ok: true, problem: undefined };
}

export function checkTools(tools: readonly Tool[] = TOOLS): Promise<ToolStatus[]> {
  return Promise.all(tools.map(checkTool));
}
