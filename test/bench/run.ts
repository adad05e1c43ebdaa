// `npm run bench`: every measured goal of the issues, from one run, printed as tables.
// Each part can also run alone: npx tsx test/bench/<part>.ts
import { benchAllocation } from './allocation.js';
import { benchBundles } from './bundles.js';
import { benchDownloads } from './downloads.js';

process.env.WG_INGRESS_QUIET = '1';

const parts: [string, () => Promise<unknown>][] = [
  ['Address allocation and create-client latency (issue 2)', benchAllocation],
  ['QR and one-time link redemption (issue 3)', benchDownloads],
  ['Lambda bundles: size and module-init time (issue 5)', benchBundles],
];
// The gateway bench needs root and WireGuard tools; it is loaded only when present.
try {
  const gatewayBench = './gateway.js'; // a variable: the type checker must not require the file
  const { benchGateway } = (await import(gatewayBench)) as { benchGateway: () => Promise<unknown> };
  parts.splice(2, 0, ['Gateway delivery: change→applied latency, apply vs bare wg syncconf (issue 4)', benchGateway]);
} catch (err) {
  if ((err as { code?: string }).code !== 'ERR_MODULE_NOT_FOUND') throw err;
}

let failed = false;
for (const [title, run] of parts) {
  console.log(`\n== ${title}`);
  const started = Date.now();
  try {
    const result = await run();
    console.table(result);
  } catch (err) {
    failed = true;
    console.error(`failed: ${(err as Error).stack ?? err}`);
  }
  console.log(`(${((Date.now() - started) / 1000).toFixed(1)} s)`);
}
process.exit(failed ? 1 : 0);
