// The console's budget and quality (issue 12): the initial JavaScript it loads, gzip-compressed,
// against its 80 KB budget, and Lighthouse (Debian's Chromium) on the local clients screen with a
// network, a ready gateway and a page of clients: performance ≥ 90, accessibility ≥ 95, best
// practices ≥ 95.
//   npx tsx test/bench/console.ts
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import * as chromeLauncher from 'chrome-launcher';
import lighthouse from 'lighthouse';
import { buildConsole } from '../../console/scripts/build-console.js';
import { startLocalStack } from '../../infra/local/local-stack.js';
import { CHROMIUM, CHROMIUM_ARGS } from '../support/browser.js';

export const JS_BUDGET_KB = 80;
export const SCORE_GOALS = { performance: 90, accessibility: 95, 'best-practices': 95 } as const;

/** The scripts index.html loads at once (its module script and module preloads), each gzipped. */
export function initialJsGzipBytes(dist: string): { files: string[]; raw: number; gzip: number } {
  const html = readFileSync(join(dist, 'index.html'), 'utf8');
  const files = [
    ...[...html.matchAll(/<script[^>]*\bsrc="([^"]+)"/g)].map((m) => m[1]!),
    ...[...html.matchAll(/<link[^>]*rel="modulepreload"[^>]*href="([^"]+)"/g)].map((m) => m[1]!),
  ];
  let raw = 0;
  let gzip = 0;
  for (const f of files) {
    const body = readFileSync(join(dist, f));
    raw += body.length;
    gzip += gzipSync(body, { level: 9 }).length;
  }
  return { files, raw, gzip };
}

async function lighthouseScores(url: string): Promise<Record<string, number>> {
  const chrome = await chromeLauncher.launch({
    chromePath: CHROMIUM,
    chromeFlags: ['--headless=new', ...CHROMIUM_ARGS],
  });
  try {
    const result = await lighthouse(url, {
      port: chrome.port,
      output: 'json',
      logLevel: 'error',
      onlyCategories: Object.keys(SCORE_GOALS),
    });
    if (!result) throw new Error('Lighthouse returned no result');
    // Scores of the signed-in clients screen, not of a sign-in form or an error page.
    const shown = result.lhr.finalDisplayedUrl;
    if (!shown.endsWith('#/networks/office/clients')) throw new Error(`Lighthouse ended on ${shown}, not the clients screen`);
    const cats = result.lhr.categories;
    return Object.fromEntries(Object.keys(SCORE_GOALS).map((k) => [k, Math.round((cats[k]?.score ?? 0) * 100)]));
  } finally {
    chrome.kill();
  }
}

const dist = mkdtempSync(join(tmpdir(), 'wg-ingress-console-bench-'));
let failed = false;
try {
  buildConsole(dist);
  const js = initialJsGzipBytes(dist);
  const jsKB = js.gzip / 1024;

  const stack = await startLocalStack({ port: 0, consoleDir: dist, scheduleMs: 1_000 });
  let scores: Record<string, number>;
  try {
    const call = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`${stack.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${stack.adminToken}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
      return res.json() as Promise<any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    };
    await call('POST', '/networks', { name: 'office', addressRange: '10.100.0.0/24' });
    const gw = await call('POST', '/networks/office/gateways', { instanceId: 'i-0123456789abcdef0', endpoint: 'vpn.example.com' });
    for (let i = 0; i < 25; i++) await call('POST', '/networks/office/clients', { gatewayId: gw.id, name: `laptop-${String(i).padStart(2, '0')}` });
    const url = `${stack.url}/console/#token=${encodeURIComponent(stack.adminToken)}&next=${encodeURIComponent('/networks/office/clients')}`;
    scores = await lighthouseScores(url);
  } finally {
    await stack.stop();
  }

  const rows = [
    { metric: 'initial JS, gzip (KB)', value: jsKB.toFixed(1), goal: `≤ ${JS_BUDGET_KB}`, ok: jsKB <= JS_BUDGET_KB },
    { metric: 'initial JS, minified (KB)', value: (js.raw / 1024).toFixed(1), goal: '', ok: true },
    ...Object.entries(SCORE_GOALS).map(([k, goal]) => ({ metric: `Lighthouse ${k} (clients screen)`, value: String(scores[k]), goal: `≥ ${goal}`, ok: (scores[k] ?? 0) >= goal })),
  ];
  console.table(rows.map(({ metric, value, goal, ok }) => ({ metric, value, goal, met: ok ? 'yes' : 'NO' })));
  failed = rows.some((r) => !r.ok);
} finally {
  rmSync(dist, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
