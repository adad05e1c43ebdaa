// `npm run bench`: every measured goal of the issues, from one run, printed as tables. Each part
// runs in a process of its own, so one part's warm caches and sockets never flatter another's
// figures, and can also run alone: npx tsx test/bench/<part>.ts
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const parts: [string, string][] = [
  ['Address allocation, create-client latency and one gateway vs many (issues 2, 11)', 'allocation.ts'],
  ['QR and one-time link redemption (issue 3)', 'downloads.ts'],
  ['Gateway delivery: change→applied latency (single, 30 on one gateway, burst), apply vs bare wg syncconf (issues 4, 11; root + WireGuard tools)', 'gateway.ts'],
  ['Lambda bundles: size and module-init time (issue 5)', 'bundles.ts'],
  ['Console: initial JS gzip vs budget, Lighthouse on the clients screen (issue 12)', 'console.ts'],
  ['Gateway status: report run calls and monthly cost, parse+merge of 10,000 peers, list page with status (issue 10)', 'status.ts'],
  ['10,000 clients in one network: import, list, get, export, apply vs bare wg syncconf (issue 11)', 'scale.ts'],
];

let failed = false;
for (const [title, file] of parts) {
  console.log(`\n== ${title}`);
  const path = join(here, file);
  if (!existsSync(path)) continue;
  const started = Date.now();
  const run = spawnSync(process.execPath, ['--import', 'tsx', '--no-warnings', path], {
    stdio: 'inherit',
    // Only the handlers' warnings and errors, and no metrics documents: the tables are the output.
    env: { ...process.env, POWERTOOLS_LOG_LEVEL: 'WARN', POWERTOOLS_METRICS_DISABLED: 'true' },
  });
  if (run.status !== 0) failed = true;
  console.log(`(${((Date.now() - started) / 1000).toFixed(1)} s${run.status !== 0 ? `, exit ${run.status}` : ''})`);
}
process.exit(failed ? 1 : 0);
