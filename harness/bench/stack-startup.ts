/**
 * `npm run bench`: cold-start time of the native stack (tools present), as the median of N runs,
 * with the per-component readiness times of the median run. Quoted as a median on purpose: the
 * machine is shared and noisy. Not a test; nothing here asserts a time.
 */
import { NativeStackRuntime } from '../stack/native/runtime.ts';
import { formatMs, renderTable } from '../util/table.ts';

const runs = Number(process.argv[2] ?? 5);
if (!Number.isInteger(runs) || runs < 1) {
  process.stderr.write('usage: npm run bench -- [runs]   (runs: a positive integer, default 5)\n');
  process.exit(4);
}

const results: { startup: number; teardown: number; lines: string[] }[] = [];
for (let i = 0; i < runs; i++) {
  const lines: string[] = [];
  const stack = await new NativeStackRuntime().start({ log: (l) => lines.push(l) });
  const t0 = Date.now();
  await stack.stop();
  results.push({ startup: stack.startupMs, teardown: Date.now() - t0, lines });
  process.stdout.write(
    `run ${i + 1}/${runs}: start ${formatMs(stack.startupMs)}, teardown ${formatMs(Date.now() - t0)}\n`,
  );
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const startups = results.map((r) => r.startup);
const teardowns = results.map((r) => r.teardown);
process.stdout.write(
  `\n${renderTable(
    ['measure', 'median', 'min', 'max', 'runs'],
    [
      [
        'stack cold start',
        formatMs(median(startups)),
        formatMs(Math.min(...startups)),
        formatMs(Math.max(...startups)),
        String(runs),
      ],
      [
        'teardown',
        formatMs(median(teardowns)),
        formatMs(Math.min(...teardowns)),
        formatMs(Math.max(...teardowns)),
        String(runs),
      ],
    ],
  )}\n`,
);
const medianRun = results.find((r) => r.startup === median(startups))!;
process.stdout.write(`\ncomponent readiness in the median run:\n${medianRun.lines.join('\n')}\n`);
