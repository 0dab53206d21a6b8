/**
 * `npm run gen`: regenerate every generated file from its source.
 * `npm run gen -- --check`: write nothing; exit 1 listing the files that drifted from their source.
 */
import { driftedFiles, writeGenerated } from '../harness/gen.ts';

const args = process.argv.slice(2);
const unknown = args.filter((a) => a !== '--check');
if (unknown.length > 0) {
  process.stderr.write(`usage: npm run gen [-- --check]   (unknown: ${unknown.join(' ')})\n`);
  process.exit(4);
}
if (args.includes('--check')) {
  const drifted = await driftedFiles();
  if (drifted.length > 0) {
    process.stderr.write(
      `generated files differ from their sources (run \`npm run gen\` and commit):\n${drifted.map((f) => `  - ${f}`).join('\n')}\n`,
    );
    process.exit(1);
  }
  process.stdout.write('generated files are up to date\n');
} else {
  const written = await writeGenerated();
  process.stdout.write(
    written.length > 0 ? `wrote:\n${written.map((f) => `  - ${f}`).join('\n')}\n` : 'nothing to write\n',
  );
}
