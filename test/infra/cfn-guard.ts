// Runs cfn-guard (the binary @cdklabs/cdk-validator-cfnguard ships) with the AWS Control Tower
// proactive-control rules over a template, and sorts each failure into suppressed or not by the
// failing resource's `Metadata.guard.SuppressedRules` (infra/lib/guard-suppressions.ts).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repositoryRoot } from '../../infra/lib/wg-ingress.js';

const packageDir = join(repositoryRoot, 'node_modules', '@cdklabs', 'cdk-validator-cfnguard');
export const guardBinary = join(packageDir, 'bin', 'ubuntu', 'x86_64', 'cfn-guard');
export const controlTowerRules = join(packageDir, 'rules', 'control-tower', 'cfn-guard');

export interface GuardFailure {
  rule: string;
  /** Logical id of the failing resource; `(template)` when the failure names none. */
  resource: string;
}

export interface GuardResult {
  failures: GuardFailure[];
  unsuppressed: GuardFailure[];
  suppressed: GuardFailure[];
  /** Rule names that ran (compliant, failing or not applicable): proof the rule set was loaded. */
  rulesRun: number;
}

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export function runControlTowerGuard(template: Json): GuardResult {
  const dir = mkdtempSync(join(tmpdir(), 'wg-ingress-guard-'));
  try {
    const file = join(dir, 'template.json');
    writeFileSync(file, JSON.stringify(template));
    const out = spawnSync(guardBinary, ['validate', '-r', controlTowerRules, '-d', file, '-o', 'json', '--structured', '--show-summary', 'none'], {
      encoding: 'utf8',
      maxBuffer: 256 * 1024 * 1024,
    });
    // 0: all pass; 19: some rule failed (cfn-guard's "validation failure"); anything else is an error.
    if (out.error) throw out.error;
    if (out.status !== 0 && out.status !== 19) throw new Error(`cfn-guard exited ${out.status}: ${out.stderr}`);
    const reports = JSON.parse(out.stdout) as Json[];
    const failures = new Map<string, GuardFailure>();
    let rulesRun = 0;
    for (const report of reports) {
      rulesRun += (report.compliant?.length ?? 0) + (report.not_applicable?.length ?? 0) + (report.not_compliant?.length ?? 0);
      for (const nc of report.not_compliant ?? []) {
        const rule = String(nc.Rule?.name ?? 'unknown');
        const ids = new Set([...JSON.stringify(nc).matchAll(/\/Resources\/([A-Za-z0-9]+)/g)].map((m) => m[1]!));
        if (ids.size === 0) ids.add('(template)');
        for (const resource of ids) failures.set(`${rule} ${resource}`, { rule, resource });
      }
    }
    const all = [...failures.values()].sort((a, b) => `${a.rule} ${a.resource}`.localeCompare(`${b.rule} ${b.resource}`));
    const isSuppressed = (f: GuardFailure) => {
      const rules = template.Resources?.[f.resource]?.Metadata?.guard?.SuppressedRules;
      return Array.isArray(rules) && rules.includes(f.rule);
    };
    return { failures: all, unsuppressed: all.filter((f) => !isSuppressed(f)), suppressed: all.filter(isSuppressed), rulesRun };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
