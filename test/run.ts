// Runs the suites with node's own test runner: `npm test` (all), `npm test -- unit` (one suite).
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const suites = ['unit', 'integration', 'infra', 'e2e', 'browser'];
const chosen = process.argv.slice(2).filter((a) => suites.includes(a));
const roots = (chosen.length ? chosen : suites).map((s) => join('test', s));

function collect(dir: string): string[] {
  let out: string[] = [];
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return out;
  }
  for (const name of entries.sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out = out.concat(collect(p));
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

const files = roots.flatMap(collect);
if (files.length === 0) {
  console.error('no test files found under', roots.join(', '));
  process.exit(1);
}
// Files run one after another: integration and e2e suites share emulators and network namespaces.
const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-reporter=spec', ...files],
  { stdio: 'inherit', env: { ...process.env, WG_INGRESS_TEST: '1' } },
);
process.exit(result.status ?? 1);
