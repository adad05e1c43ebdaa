// Builds the console (types generated from the OpenAPI document, then Vite) into `outDir`; used by
// `npm run build`, by the CDK app at synth (local bundling of the console's asset) and by the
// browser tests.
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const consoleRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
export const consoleDist = join(consoleRoot, 'dist');
const repoRoot = join(consoleRoot, '..');

/** `types: false` skips generating the API types (Vite only strips them; typecheck needs them). */
export function buildConsole(outDir: string = consoleDist, opts: { types?: boolean } = {}): void {
  const bin = (name: string) => join(repoRoot, 'node_modules', '.bin', name);
  const run = (cmd: string, args: string[]) => execFileSync(cmd, args, { cwd: repoRoot, stdio: ['ignore', 'ignore', 'inherit'] });
  if (opts.types ?? true) run(bin('tsx'), [join(consoleRoot, 'scripts', 'gen-api.ts')]);
  run(bin('vite'), ['build', consoleRoot, '--outDir', outDir, '--emptyOutDir', '--logLevel', 'warn']);
}
