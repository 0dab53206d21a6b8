/** Version strings as tools print them: "v2.12.0", "2.42.0+ds", "15.18", "1.45.0-2+b4". */

function components(version: string): number[] {
  const core =
    version
      .trim()
      .replace(/^v/, '')
      .split(/[^0-9.]/, 1)[0] ?? '';
  return core
    .split('.')
    .filter((part) => part !== '')
    .map((part) => Number.parseInt(part, 10));
}

/** True when `found` matches every dotted component of `wanted` ("2.42.0+ds" matches "2.42.0"; "7.0.15" matches "7.0"). */
export function versionMatches(found: string, wanted: string): boolean {
  const f = components(found);
  const w = components(wanted);
  if (w.length === 0 || f.length < w.length) return false;
  return w.every((part, i) => f[i] === part);
}

/** Compares dotted versions numerically: negative when a < b, 0 when equal, positive when a > b. */
export function compareVersions(a: string, b: string): number {
  const x = components(a);
  const y = components(b);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** "go version go1.26.8 linux/amd64" → "1.26.8". */
export function parseGoVersion(output: string): string | undefined {
  return /\bgo(\d+\.\d+(?:\.\d+)?)/.exec(output)?.[1];
}
