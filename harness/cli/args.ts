import { ConfigError } from '../errors.ts';

export interface OptionSpec {
  readonly type: 'boolean' | 'string';
  readonly description: string;
  /** For string options: the accepted values (anything else is a problem). */
  readonly choices?: readonly string[];
}

export type ParsedOptions = Record<string, string | boolean | undefined>;

/**
 * Parses `--name value`, `--name=value` and `--flag` against a spec and collects every problem
 * (unknown option, missing value, value not among the choices, stray argument) before failing, so
 * the user fixes the command line in one go.
 */
export function parseOptions(
  command: string,
  args: readonly string[],
  spec: Readonly<Record<string, OptionSpec>>,
): ParsedOptions {
  const out: ParsedOptions = {};
  const problems: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (!arg.startsWith('--')) {
      problems.push(`unexpected argument "${arg}"`);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    const option = spec[name];
    if (!option) {
      problems.push(`unknown option --${name}`);
      continue;
    }
    if (option.type === 'boolean') {
      if (eq >= 0) problems.push(`--${name} takes no value`);
      out[name] = true;
      continue;
    }
    let value: string | undefined;
    if (eq >= 0) value = arg.slice(eq + 1);
    else if (i + 1 < args.length && !args[i + 1]!.startsWith('--')) value = args[++i];
    if (value === undefined || value === '') {
      problems.push(`--${name} needs a value`);
      continue;
    }
    if (option.choices && !option.choices.includes(value)) {
      problems.push(`--${name} must be one of ${option.choices.join(', ')} (got "${value}")`);
      continue;
    }
    out[name] = value;
  }
  if (problems.length > 0) {
    throw new ConfigError(
      `invalid arguments for \`chatim-slo ${command}\``,
      problems,
      `see \`chatim-slo help\``,
    );
  }
  return out;
}

export function describeOptions(spec: Readonly<Record<string, OptionSpec>>): string {
  return Object.entries(spec)
    .map(([name, o]) => {
      const left =
        o.type === 'string' ? `--${name} <${o.choices ? o.choices.join('|') : 'value'}>` : `--${name}`;
      return `    ${left.padEnd(34)}${o.description}`;
    })
    .join('\n');
}
