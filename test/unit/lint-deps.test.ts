// The layer rules of .dependency-cruiser.cjs catch what they are written for. Violations are
// planted in the real tree (where the rules' paths apply), depcruise runs on the planted files
// alone (two runs: the clean ones, then all the violations at once, to stay fast) and the files are
// removed again. That the rules hold on the whole tree is `npm run lint:deps`, run by CI.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { repositoryRoot } from '../../infra/lib/wg-ingress.js';

const run = promisify(execFile);
const depcruise = join(repositoryRoot, 'node_modules/.bin/depcruise');
/** Per process, so two runs at once never collide. */
const tag = `__planted_${process.pid}`;
const planted = new Set<string>();

function plant(files: Record<string, string>): void {
  for (const [path, source] of Object.entries(files)) {
    const abs = join(repositoryRoot, path);
    mkdirSync(dirname(abs), { recursive: true });
    writeFileSync(abs, source);
    planted.add(abs);
  }
}

function removePlanted(): void {
  for (const abs of planted) rmSync(abs, { force: true });
  planted.clear();
}

interface Cruise {
  code: number;
  output: string;
}

/** depcruise with the project's config over `paths` and what they import: exit code and report. */
async function cruise(paths: string[]): Promise<Cruise> {
  // process.execPath: the pinned Node 24 this test runs on (dependency-cruiser needs >= 22).
  const args = [depcruise, '--config', '.dependency-cruiser.cjs', '--output-type', 'err', '--no-progress', ...paths];
  try {
    const { stdout, stderr } = await run(process.execPath, args, { cwd: repositoryRoot, encoding: 'utf8' });
    return { code: 0, output: stdout + stderr };
  } catch (err) {
    const e = err as { code?: unknown; stdout?: string; stderr?: string };
    if (typeof e.code !== 'number') throw err;
    return { code: e.code, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

const adapter = (name: string) => ({ [`functions/adapters/${tag}_${name}__.ts`]: 'export const store = {};\n' });

/** Modules that keep to their layer; cruised on their own, they must pass. */
const clean = {
  domain: `functions/domain/${tag}_clean__.ts`,
  entry: `functions/api/${tag}_entry__.ts`,
};
const cleanFiles = {
  [clean.domain]: [
    "import { randomBytes } from 'node:crypto';",
    "import * as z from 'zod/mini';",
    `import { helper } from './${tag}_clean_helper__.js';`,
    'export const schema = z.string();',
    'export const id = () => helper(randomBytes(4));',
    '',
  ].join('\n'),
  [`functions/domain/${tag}_clean_helper__.ts`]: "export const helper = (b: Buffer) => b.toString('hex');\n",
  [clean.entry]: `import { store } from '../adapters/${tag}_entry_adapter__.js';\nexport const handler = () => store;\n`,
  ...adapter('entry_adapter'),
};

/** One module per broken rule (the modules they import are planted beside them). */
const broken = {
  domainImportsAdapter: `functions/domain/${tag}_imports_adapter__.ts`,
  domainImportsSdk: `functions/domain/${tag}_imports_sdk__.ts`,
  appImportsAdapterType: `functions/app/${tag}_imports_adapter__.ts`,
  appImportsMiddleware: `functions/app/${tag}_imports_middleware__.ts`,
  adapterImportsUseCase: `functions/adapters/${tag}_imports_use_case__.ts`,
  httpImportsAdapter: `functions/http/${tag}_imports_adapter__.ts`,
  rootImportsAdapter: `functions/${tag}_imports_adapter__.ts`,
  entryImportsInfra: `functions/api/${tag}_imports_infra__.ts`,
  cycleA: `functions/domain/${tag}_cycle_a__.ts`,
  typo: `functions/domain/${tag}_typo__.ts`,
};
const brokenFiles = {
  [broken.domainImportsAdapter]: `import { store } from '../adapters/${tag}_domain_adapter__.js';\nexport const s = store;\n`,
  ...adapter('domain_adapter'),
  [broken.domainImportsSdk]: "import { S3Client } from '@aws-sdk/client-s3';\nexport const c = S3Client;\n",
  // Type-only imports count too (tsPreCompilationDeps).
  [broken.appImportsAdapterType]: `import type { store } from '../adapters/${tag}_app_adapter__.js';\nexport type S = typeof store;\n`,
  ...adapter('app_adapter'),
  [broken.appImportsMiddleware]:
    "import middy from '@middy/core';\nimport { Logger } from '@aws-lambda-powertools/logger';\nexport const m = [middy, Logger];\n",
  [broken.adapterImportsUseCase]: `import { run } from '../app/${tag}_use_case__.js';\nexport const r = run;\n`,
  [`functions/app/${tag}_use_case__.ts`]: 'export const run = () => 1;\n',
  [broken.httpImportsAdapter]: `import { store } from '../adapters/${tag}_http_adapter__.js';\nexport const s = store;\n`,
  ...adapter('http_adapter'),
  [broken.rootImportsAdapter]: `import { store } from './adapters/${tag}_root_adapter__.js';\nexport const s = store;\n`,
  ...adapter('root_adapter'),
  [broken.entryImportsInfra]: `import { x } from '../../infra/${tag}_infra__.js';\nexport const handler = () => x;\n`,
  [`infra/${tag}_infra__.ts`]: 'export const x = 1;\n',
  [broken.cycleA]: `import { b } from './${tag}_cycle_b__.js';\nexport const a = () => b;\n`,
  [`functions/domain/${tag}_cycle_b__.ts`]: `import { a } from './${tag}_cycle_a__.js';\nexport const b = () => a;\n`,
  [broken.typo]: `import { x } from './${tag}_no_such_module__.js';\nexport const y = x;\n`,
};

let cleanRun: Cruise;
let brokenRun: Cruise;

before(async () => {
  try {
    plant({ ...cleanFiles, ...brokenFiles });
    [cleanRun, brokenRun] = await Promise.all([cruise(Object.values(clean)), cruise(Object.values(broken))]);
  } finally {
    removePlanted();
  }
});
after(removePlanted);

/** The report lines of `rule` that start at `from`. */
function reported(rule: string, from: string): string[] {
  return brokenRun.output.split('\n').filter((line) => line.includes(`error ${rule}: ${from} →`));
}

function assertBroken(rule: string, from: string, count = 1): void {
  assert.equal(reported(rule, from).length, count, `"${rule}" from ${from}, ${count}×, in:\n${brokenRun.output}`);
}

describe('dependency rules (.dependency-cruiser.cjs)', () => {
  it('passes a pure domain module and an entry that wires an adapter', () => {
    assert.equal(cleanRun.code, 0, cleanRun.output);
    assert.doesNotMatch(cleanRun.output, /error /);
  });

  it('fails the run with one error per broken import, and nothing else', () => {
    const errors = brokenRun.output.split('\n').filter((line) => /^\s*error /.test(line));
    assert.ok(brokenRun.code > 0, brokenRun.output);
    assert.equal(brokenRun.code, errors.length, brokenRun.output);
    const from = new Set(errors.map((line) => line.match(/: (\S+) →/)?.[1]));
    assert.deepEqual([...from].sort(), Object.values(broken).sort());
  });

  it('refuses a domain module that imports an adapter or the AWS SDK (domain-is-pure)', () => {
    assertBroken('domain-is-pure', broken.domainImportsAdapter);
    assertBroken('only-entries-wire-adapters', broken.domainImportsAdapter);
    assertBroken('domain-is-pure', broken.domainImportsSdk);
  });

  it('refuses a use case that imports an adapter, even for a type only (app-imports-only-domain)', () => {
    assertBroken('app-imports-only-domain', broken.appImportsAdapterType);
    assertBroken('only-entries-wire-adapters', broken.appImportsAdapterType);
  });

  it('refuses a use case that imports middy or Powertools (app-imports-only-domain)', () => {
    assertBroken('app-imports-only-domain', broken.appImportsMiddleware, 2);
  });

  it('refuses an adapter that imports a use case instead of the ports (adapters-implement-ports)', () => {
    assertBroken('adapters-implement-ports', broken.adapterImportsUseCase);
  });

  it('refuses an http module that imports an adapter (http-never-reaches-adapters)', () => {
    assertBroken('http-never-reaches-adapters', broken.httpImportsAdapter);
    assertBroken('only-entries-wire-adapters', broken.httpImportsAdapter);
  });

  it('refuses adapters wired anywhere but entries, compose/ and local mode (only-entries-wire-adapters)', () => {
    assertBroken('only-entries-wire-adapters', broken.rootImportsAdapter);
  });

  it('refuses Lambda code that imports infra (functions-never-import-infra)', () => {
    assertBroken('functions-never-import-infra', broken.entryImportsInfra);
  });

  it('refuses two domain modules that import each other (no-circular)', () => {
    assertBroken('no-circular', broken.cycleA);
  });

  it('refuses an import that resolves to no file, reported once (not-to-unresolvable)', () => {
    assertBroken('not-to-unresolvable', broken.typo);
    assert.equal(reported('domain-is-pure', broken.typo).length, 0);
  });
});
