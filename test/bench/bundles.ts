// Bundle size and cold module-initialisation time of every Lambda, built with exactly the esbuild
// options the CDK construct deploys (infra/lib/bundling-options.ts). Init time is measured in a
// fresh Node process per run and divided by that of a reference bundle that only creates a
// DynamoDB client, so the ratio is comparable across machines.
//   npx tsx test/bench/bundles.ts        prints the table
//   benchBundles()                       rows for test/bench/run.ts
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build, type BuildOptions } from 'esbuild';
import { functionEntries } from '../../functions/contract/route-table.js';
import { esbuildOptions } from '../../infra/lib/bundling-options.js';
import { repositoryRoot } from '../../infra/lib/wg-ingress.js';
import { median } from '../support/bench-stats.js';

/** Functions that render QR PNGs may be larger. */
const qrRenderers = new Set(['client-downloads', 'download-page']);
export const sizeGoalKB = (fn: string) => (qrRenderers.has(fn) ? 500 : 300);
export const initRatioGoal = 1.3;

const runs = Number(process.env.BENCH_INIT_RUNS ?? 5);

/** What a deployed function sees at start (values are placeholders; nothing is called). */
export const lambdaLikeEnv: Record<string, string> = {
  AWS_REGION: 'us-east-1',
  AWS_LAMBDA_FUNCTION_NAME: 'bench',
  TABLE_NAME: 'bench-table',
  SECRETS_TABLE_NAME: 'bench-secrets',
  BUCKET_NAME: 'bench-bucket',
  INIT_DOCUMENT_NAME: 'bench-init',
  APPLY_DOCUMENT_NAME: 'bench-apply',
  TEARDOWN_DOCUMENT_NAME: 'bench-teardown',
  IDEMPOTENCY_TABLE_NAME: 'bench-idempotency',
  POWERTOOLS_SERVICE_NAME: 'wg-ingress',
  POWERTOOLS_METRICS_NAMESPACE: 'WgIngress',
  PUBLIC_BASE_URL: 'https://bench.example.com',
  AUTH_MODE: 'jwt',
  // Lambda always provides the role's credentials in the environment.
  AWS_ACCESS_KEY_ID: 'ASIABENCHBENCHBENCH0',
  AWS_SECRET_ACCESS_KEY: 'bench',
  AWS_SESSION_TOKEN: 'bench',
};

export const referenceSource = `
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
export const client = new DynamoDBClient({});
export const handler = async () => ({ statusCode: 200 });
`;


/** ms from the start of `import()` of the bundle until its module graph has evaluated. */
export function measureInitMs(
  bundle: string,
  env: Record<string, string> = lambdaLikeEnv,
  n = runs,
  warmUp = true,
): number {
  const script =
    'const t = performance.now();' +
    `await import(${JSON.stringify(pathToFileURL(bundle).href)});` +
    'process.stdout.write(String(performance.now() - t));';
  const once = () => {
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      env: { PATH: process.env.PATH ?? '', ...env },
      encoding: 'utf8',
      timeout: 30_000,
    });
    if (r.status !== 0) throw new Error(`init of ${bundle} failed: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`);
    return Number(r.stdout);
  };
  if (warmUp) once(); // warm the file cache; a Lambda cold start reads from a warm-ish local disk too
  return median(Array.from({ length: n }, once));
}

export async function bundleEntry(
  entry: string | { source: string },
  outDir: string,
  name: string,
  tweak: (o: BuildOptions) => BuildOptions = (o) => o,
): Promise<string> {
  const outfile = join(outDir, name, 'index.mjs');
  const opts = tweak(esbuildOptions(typeof entry === 'string' ? join(repositoryRoot, entry) : '', outfile));
  if (typeof entry !== 'string') {
    delete opts.entryPoints;
    opts.stdin = { contents: entry.source, resolveDir: repositoryRoot, loader: 'ts', sourcefile: `${name}.ts` };
  }
  await build(opts);
  return outfile;
}

export async function benchBundles(): Promise<Record<string, unknown>[]> {
  const outDir = mkdtempSync(join(tmpdir(), 'wg-ingress-bundles-'));
  try {
    const reference = await bundleEntry({ source: referenceSource }, outDir, 'reference');
    const referenceInitMs = measureInitMs(reference);
    const rows: Record<string, unknown>[] = [
      {
        bench: 'bundle',
        function: '(reference: DynamoDB client only)',
        sizeKB: kb(reference),
        initMs: round(referenceInitMs),
      },
    ];
    for (const [fn, entry] of Object.entries(functionEntries)) {
      const row: Record<string, unknown> = { bench: 'bundle', function: fn, sizeGoalKB: sizeGoalKB(fn), initRatioGoal };
      if (!existsSync(join(repositoryRoot, entry))) {
        rows.push({ ...row, error: `entry ${entry} does not exist` });
        continue;
      }
      try {
        const bundle = await bundleEntry(entry, outDir, fn);
        const initMs = measureInitMs(bundle);
        const sizeKB = kb(bundle);
        const initRatio = initMs / referenceInitMs;
        rows.push({
          ...row,
          sizeKB,
          initMs: round(initMs),
          initRatio: round(initRatio, 2),
          ok: sizeKB <= sizeGoalKB(fn) && initRatio <= initRatioGoal,
        });
      } catch (err) {
        rows.push({ ...row, error: (err as Error).message.split('\n')[0] });
      }
    }
    return rows;
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
}

/**
 * The measurements behind layers/README.md: the house bundle against the alternatives, per
 * function, as init-time ratios to the house bundle of the same function.
 *  - sdk-external: @aws-sdk/* and @smithy/* left out of the bundle and loaded from node_modules,
 *    which is how the runtime-provided SDK or an SDK layer (/opt/nodejs/node_modules) loads.
 *  - sdk-all-in: everything bundled, the unused credential providers too.
 *  - source-maps-flag: the house bundle started with NODE_OPTIONS=--enable-source-maps.
 */
export async function benchBundleVariants(): Promise<Record<string, unknown>[]> {
  // Inside the repository, so the unbundled variant resolves the SDK from node_modules.
  const outDir = mkdtempSync(join(repositoryRoot, 'node_modules', '.wg-ingress-bench-'));
  const sourceMapsEnv = { ...lambdaLikeEnv, NODE_OPTIONS: '--enable-source-maps' };
  try {
    const rows: Record<string, unknown>[] = [];
    const entries: [string, string | { source: string }][] = [
      ['(reference)', { source: referenceSource }],
      ...Object.entries(functionEntries).filter(([, e]) => existsSync(join(repositoryRoot, e))),
    ];
    for (const [fn, entry] of entries) {
      const house = await bundleEntry(entry, outDir, `${fn}-house`);
      const external = await bundleEntry(entry, outDir, `${fn}-external`, (o) => ({
        ...o,
        external: ['@aws-sdk/*', '@smithy/*'],
      }));
      const full = await bundleEntry(entry, outDir, `${fn}-full`, (o) => ({ ...o, external: [] }));
      // Interleaved, so load from other processes on the machine hits every variant alike.
      const [houseMs, externalMs, sourceMapsMs, fullMs] = interleavedMedians([
        () => measureInitMs(house, lambdaLikeEnv, 1, false),
        () => measureInitMs(external, lambdaLikeEnv, 1, false),
        () => measureInitMs(house, sourceMapsEnv, 1, false),
        () => measureInitMs(full, lambdaLikeEnv, 1, false),
      ]) as [number, number, number, number];
      rows.push({
        bench: 'bundle-variants',
        function: fn,
        houseKB: kb(house),
        houseInitMs: round(houseMs),
        sdkExternalKB: kb(external),
        sdkExternalInitMs: round(externalMs),
        sdkAllInKB: kb(full),
        sdkAllInInitMs: round(fullMs),
        sourceMapsFlagInitMs: round(sourceMapsMs),
      });
    }
    return rows;
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
}

function interleavedMedians(measures: (() => number)[], n = Math.max(runs, 7)): number[] {
  for (const m of measures) m(); // warm-up
  const samples = measures.map(() => [] as number[]);
  for (let i = 0; i < n; i++) measures.forEach((m, j) => samples[j]!.push(m()));
  return samples.map(median);
}

const kb = (file: string) => round(statSync(file).size / 1024, 1);
const round = (x: number, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits;

if (import.meta.url === `file://${process.argv[1]}`) {
  const rows = process.env.BENCH_VARIANTS ? await benchBundleVariants() : await benchBundles();
  console.table(rows.map(({ bench: _bench, ...r }) => r));
  if (rows.some((r) => r.ok === false || r.error)) process.exitCode = 1;
}
