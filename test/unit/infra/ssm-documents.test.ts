import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { applyDocument, initDocument, renderScript, scriptPath, type CommandDocument } from '../../../infra/ssm/documents.js';
import { APPLY_PARAMETERS, INIT_PARAMETERS, PARAMETER_PATTERNS, type DocumentKind } from '../../../functions/domain/gateway-commands.js';

const docs: [DocumentKind, CommandDocument][] = [
  ['init', initDocument()],
  ['apply', applyDocument()],
];
const PLACEHOLDER = /\{\{\s*([A-Za-z0-9_]+)\s*\}\}/g;

describe('SSM command documents', () => {
  for (const [kind, doc] of docs) {
    describe(kind, () => {
      it('is a schema 2.2 document with one aws:runShellScript step holding the script file line by line', () => {
        assert.equal(doc.schemaVersion, '2.2');
        assert.ok(doc.description.length > 20);
        assert.equal(doc.mainSteps.length, 1);
        const step = doc.mainSteps[0]!;
        assert.equal(step.action, 'aws:runShellScript');
        assert.equal(step.inputs.runCommand.join('\n') + '\n', readFileSync(scriptPath(kind), 'utf8'));
        assert.equal(step.inputs.runCommand[0], '#!/bin/bash');
        assert.ok(Number(step.inputs.timeoutSeconds) > 0);
        assert.ok(JSON.stringify(doc).length < 64 * 1024, 'SSM documents are limited to 64 KB');
      });

      it('declares every parameter as a String with a description and the shared pattern; defaults pass it', () => {
        const specs = kind === 'init' ? INIT_PARAMETERS : APPLY_PARAMETERS;
        assert.deepEqual(Object.keys(doc.parameters), specs.map((s) => s.name));
        for (const spec of specs) {
          const p = doc.parameters[spec.name]!;
          assert.equal(p.type, 'String');
          assert.ok(p.description.length > 5);
          assert.equal(p.allowedPattern, PARAMETER_PATTERNS[spec.name]);
          assert.ok(p.allowedPattern.startsWith('^') && p.allowedPattern.endsWith('$'));
          assert.equal(p.default, spec.default);
          if (p.default !== undefined) assert.ok(new RegExp(p.allowedPattern).test(p.default), `${spec.name} default`);
        }
      });

      it('uses each parameter exactly once, as a single-quoted assignment, and nothing undeclared', () => {
        const lines = doc.mainSteps[0]!.inputs.runCommand;
        const used: string[] = [];
        for (const line of lines) {
          for (const m of line.matchAll(PLACEHOLDER)) {
            used.push(m[1]!);
            assert.match(line, /^[A-Z0-9_]+='\{\{ [A-Za-z0-9]+ \}\}'$/, `placeholder outside an assignment: ${line}`);
          }
        }
        assert.deepEqual(used.sort(), Object.keys(doc.parameters).sort());
      });

      it('no allowed pattern lets a single quote through', () => {
        for (const name of Object.keys(doc.parameters)) {
          assert.ok(!/'/.test(doc.parameters[name]!.allowedPattern.replace(/\[\^[^\]]*\]/g, '')), name);
        }
      });

      it('is valid bash once substituted', () => {
        const values = Object.fromEntries(Object.keys(doc.parameters).map((k) => [k, 'x']));
        const r = spawnSync('bash', ['-n'], { input: renderScript(kind, values), encoding: 'utf8' });
        assert.equal(r.status, 0, r.stderr);
      });
    });
  }

  it('substitutes like SSM: every {{ name }}, with or without blanks', () => {
    const text = renderScript('apply', {
      interfaceName: 'wg0',
      generation: '3',
      peerSetUrl: 'file:///tmp/p',
      peerSetSha256: 'a'.repeat(64),
      stateDir: '/etc/wireguard',
    });
    assert.doesNotMatch(text, /\{\{/);
    assert.match(text, /^IFACE='wg0'$/m);
    assert.match(text, /^GENERATION='3'$/m);
  });
});
