import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import {
  applyDocument,
  initDocument,
  PEER_SET_DOWNLOAD_PATH,
  peerSetDownloadPath,
  type DownloadStep,
  type ShellStep,
  renderScript,
  scriptPath,
  scriptText,
  teardownDocument,
  type CommandDocument,
} from '../../../infra/ssm/documents.js';
import { DOCUMENT_PARAMETERS, PARAMETER_PATTERNS, type DocumentKind } from '../../../functions/domain/gateway-commands.js';
import { PEER_LINE_PATTERN } from '../../../functions/domain/grammar.js';

const docs: [DocumentKind, CommandDocument][] = [
  ['init', initDocument()],
  ['apply', applyDocument()],
  ['teardown', teardownDocument()],
];
const buildDoc = (kind: 'init' | 'teardown'): CommandDocument => (kind === 'init' ? initDocument() : teardownDocument());
const MARKER = /%%[A-Z0-9_]+%%/;
const PLACEHOLDER = /\{\{\s*([A-Za-z0-9_]+)\s*\}\}/g;
const shellStep = (doc: CommandDocument): ShellStep => {
  const steps = doc.mainSteps.filter((s): s is ShellStep => s.action === 'aws:runShellScript');
  assert.equal(steps.length, 1);
  return steps[0]!;
};
const downloadSteps = (doc: CommandDocument): DownloadStep[] =>
  doc.mainSteps.filter((s): s is DownloadStep => s.action === 'aws:downloadContent');

describe('SSM command documents', () => {
  for (const [kind, doc] of docs) {
    describe(kind, () => {
      it('is a schema 2.2 document with one aws:runShellScript step (last) holding the built script line by line', () => {
        assert.equal(doc.schemaVersion, '2.2');
        assert.ok(doc.description.length > 20);
        assert.equal(doc.mainSteps.length, kind === 'apply' ? 2 : 1);
        const step = shellStep(doc);
        assert.equal(doc.mainSteps.at(-1), step);
        assert.equal(step.inputs.runCommand.join('\n') + '\n', scriptText(kind));
        assert.doesNotMatch(scriptText(kind), MARKER, 'a synth-time marker left in the document');
        assert.equal(step.inputs.runCommand[0], '#!/bin/bash');
        assert.ok(Number(step.inputs.timeoutSeconds) > 0);
        assert.ok(JSON.stringify(doc).length < 64 * 1024, 'SSM documents are limited to 64 KB');
      });

      it('declares every parameter as a String with a description and the shared pattern; defaults pass it', () => {
        const specs = DOCUMENT_PARAMETERS[kind];
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

      it('uses each parameter, in the script exactly once as a single-quoted assignment, and nothing undeclared', () => {
        const lines = shellStep(doc).inputs.runCommand;
        const used: string[] = [];
        for (const line of lines) {
          for (const m of line.matchAll(PLACEHOLDER)) {
            used.push(m[1]!);
            assert.match(line, /^[A-Z0-9_]+='\{\{ [A-Za-z0-9]+ \}\}'$/, `placeholder outside an assignment: ${line}`);
          }
        }
        assert.equal(new Set(used).size, used.length);
        // The download step's inputs name parameters too (bucket and key only there).
        const inDownload = downloadSteps(doc).flatMap((step) =>
          [step.inputs.sourceInfo, step.inputs.destinationPath].flatMap((v) => [...v.matchAll(PLACEHOLDER)].map((m) => m[1]!)),
        );
        for (const name of inDownload) assert.ok(name in doc.parameters, `undeclared ${name} in the download step`);
        assert.deepEqual([...new Set([...used, ...inDownload])].sort(), Object.keys(doc.parameters).sort());
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

  it("writes the grammar's peer-line pattern into apply.sh for its marker, inside single quotes", () => {
    const source = readFileSync(scriptPath('apply'), 'utf8');
    assert.match(source, /^PEER_LINE_RE='%%PEER_LINE_PATTERN%%'$/m);
    assert.ok(scriptText('apply').split('\n').includes(`PEER_LINE_RE='${PEER_LINE_PATTERN}'`));
    assert.doesNotMatch(PEER_LINE_PATTERN, /'|\{\{|\}\}|%%|\n/);
    for (const kind of ['init', 'teardown'] as const) assert.equal(scriptText(kind), readFileSync(scriptPath(kind), 'utf8'));
  });

  it('refuses to run an apply script that was not built (marker still in it)', () => {
    const raw = readFileSync(scriptPath('apply'), 'utf8').replace(/\{\{\s*([A-Za-z0-9_]+)\s*\}\}/g, (_, name: string) =>
      name === 'generation' ? '1' : name === 'stateDir' ? '/nonexistent' : 'x',
    );
    const r = spawnSync('bash', ['-s'], { input: raw, encoding: 'utf8' });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /reason=script_not_built/);
  });

  it('substitutes like SSM: every {{ name }}, with or without blanks', () => {
    const text = renderScript('apply', {
      interfaceName: 'wg0',
      generation: '3',
      peerSetBucket: 'b-1',
      peerSetKey: 'peer-sets/n/gw-aaaaaaaaaa/3-0000000000000000.conf',
      peerSetSha256: 'a'.repeat(64),
      stateDir: '/etc/wireguard',
    });
    assert.doesNotMatch(text, /\{\{/);
    assert.match(text, /^IFACE='wg0'$/m);
    assert.match(text, /^GENERATION='3'$/m);
  });

  it('apply: no URL parameter; an aws:downloadContent step reads bucket+key from S3 with the instance role into the file the script reads', () => {
    const doc = applyDocument();
    for (const [name, p] of Object.entries(doc.parameters)) {
      assert.doesNotMatch(name, /url/i, 'no URL parameter');
      for (const scheme of ['https://x/', 'http://127.0.0.1/x', 'file:///tmp/x', 's3://b/k']) {
        assert.ok(!new RegExp(p.allowedPattern).test(scheme), `${name} accepts ${scheme}`);
      }
    }
    assert.ok('peerSetBucket' in doc.parameters && 'peerSetKey' in doc.parameters && 'peerSetSha256' in doc.parameters);
    const [download] = downloadSteps(doc);
    assert.ok(download);
    assert.equal(doc.mainSteps[0], download, 'the download comes first');
    assert.equal(download.inputs.sourceType, 'S3');
    assert.deepEqual(JSON.parse(download.inputs.sourceInfo), { path: 'https://s3.amazonaws.com/{{ peerSetBucket }}/{{ peerSetKey }}' });
    assert.equal(download.inputs.destinationPath, PEER_SET_DOWNLOAD_PATH);
    // The script reads (and removes) exactly that file.
    assert.match(scriptText('apply'), /^DOWNLOADED="\$STATE_DIR\/\.peer-set-\$IFACE-\$GENERATION"$/m);
    assert.equal(
      peerSetDownloadPath({ stateDir: '/etc/wireguard', interfaceName: 'wg0', generation: '7' }),
      '/etc/wireguard/.peer-set-wg0-7',
    );
    assert.doesNotMatch(scriptText('apply'), /curl|wget|urlopen|file:\/\//, 'the script fetches nothing itself');
    for (const kind of ['init', 'teardown'] as const) assert.equal(downloadSteps(buildDoc(kind)).length, 0);
  });
});
