// The four SSM Command documents that run on gateways (init, apply, teardown, report). Their scripts live
// in infra/gateway/*.sh and are read at synth time, so the local runner and the documents execute
// the very same text; their parameter patterns come from functions/domain/gateway-commands.ts, the
// same table the control plane checks before sending, and the scripts' own line checks from
// functions/domain/grammar.ts, written in for `%%NAME%%` markers when the text is read.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  DOCUMENT_PARAMETERS,
  PARAMETER_PATTERNS,
  type DocumentKind,
} from '../../functions/domain/gateway-commands.js';
import { PATTERN, PEER_LINE_PATTERN } from '../../functions/domain/grammar.js';
import { REPORT_STEP_NAME } from '../../functions/domain/object-keys.js';

export { PARAMETER_PATTERNS, INIT_PARAMETERS, APPLY_PARAMETERS, TEARDOWN_PARAMETERS, REPORT_PARAMETERS } from '../../functions/domain/gateway-commands.js';

const SCRIPT_FILES: Record<DocumentKind, URL> = {
  init: new URL('../gateway/init.sh', import.meta.url),
  apply: new URL('../gateway/apply.sh', import.meta.url),
  teardown: new URL('../gateway/teardown.sh', import.meta.url),
  report: new URL('../gateway/report.sh', import.meta.url),
};

/** Path of a document's script on this machine. */
export function scriptPath(kind: DocumentKind): string {
  return fileURLToPath(SCRIPT_FILES[kind]);
}

// Synth-time markers (distinct from SSM's `{{ parameter }}` placeholders, which stay for SSM).
const MARKER = /%%([A-Z0-9_]+)%%/g;
const MARKER_VALUES: Record<string, string> = { PEER_LINE_PATTERN, INTERFACE_NAME_PATTERN: PATTERN.INTERFACE_NAME };

/**
 * A marker's value goes inside single quotes on one line, and SSM then reads the text for
 * `{{ ... }}`: none of those may occur in it.
 */
function markerValue(name: string): string {
  const value = MARKER_VALUES[name];
  if (value === undefined) throw new Error(`no value for script marker %%${name}%%`);
  if (/['\n\r]|\{\{|\}\}|%%/.test(value)) throw new Error(`script marker %%${name}%% has a value that cannot go in single quotes`);
  return value;
}

/** The script text: markers replaced by the grammar's patterns, `{{ parameter }}` placeholders still in it. */
export function scriptText(kind: DocumentKind): string {
  return readFileSync(SCRIPT_FILES[kind], 'utf8').replace(MARKER, (_, name: string) => markerValue(name));
}

// A report that cannot finish in a minute is overtaken by the next one anyway.
export const EXECUTION_TIMEOUT_SECONDS: Record<DocumentKind, number> = { init: 900, apply: 300, teardown: 300, report: 60 };
/** The step's name is part of the key the agent writes its output under (functions/domain/object-keys.ts). */
export const STEP_NAMES: Record<DocumentKind, string> = { init: 'initGateway', apply: 'applyPeerSet', teardown: 'teardownGateway', report: REPORT_STEP_NAME };
const DESCRIPTIONS: Record<DocumentKind, string> = {
  init:
    'wg-ingress: ensure WireGuard, create the gateway key on the instance, bring the interface up, ' +
    'load the firewall atomically per family, then switch forwarding on (client to network only, never to ' +
    'link-local/instance metadata, no client to client unless allowed, only replies, ping and DNS to the gateway, NAT), ' +
    'make it survive reboot, print the public key.',
  apply:
    "wg-ingress: download the desired peer set of a generation from S3 with the instance's own role, verify its SHA-256 and every line, " +
    'apply it with wg syncconf, persist it for reboot and record the generation; re-asserts the firewall every time.',
  teardown:
    'wg-ingress: take a deleted gateway down: interface, firewall chains and NAT, reboot unit, and ' +
    "the interface's files (its private key among them).",
  report:
    'wg-ingress: report every interface initialised in the state folder: whether it is up and, from one wg show dump, ' +
    "each peer's public key, endpoint, latest handshake and bytes received and sent; never a private or preshared key.",
};

export interface DocumentParameter {
  type: 'String';
  description: string;
  allowedPattern: string;
  default?: string;
}

export interface ShellStep {
  action: 'aws:runShellScript';
  name: string;
  precondition: { StringEquals: ['platformType', 'Linux'] };
  inputs: { timeoutSeconds: string; runCommand: string[] };
}

/** SSM's own download step: the agent reads the object with the instance's credentials. */
export interface DownloadStep {
  action: 'aws:downloadContent';
  name: string;
  precondition: { StringEquals: ['platformType', 'Linux'] };
  inputs: { sourceType: 'S3'; sourceInfo: string; destinationPath: string };
}

export interface CommandDocument {
  schemaVersion: '2.2';
  description: string;
  parameters: Record<string, DocumentParameter>;
  mainSteps: (DownloadStep | ShellStep)[];
}

/**
 * Where the apply document's download step puts the peer set, and where apply.sh reads it
 * (`$STATE_DIR/.peer-set-$IFACE-$GENERATION`): inside the state folder (0700, root's), one file per
 * interface and generation; the script removes it when it ends, whatever happened.
 */
export const PEER_SET_DOWNLOAD_PATH = '{{ stateDir }}/.peer-set-{{ interfaceName }}-{{ generation }}';
/** The agent's S3 source: path-style URL of the object (it finds the bucket's region itself). */
export const PEER_SET_SOURCE_INFO = '{"path":"https://s3.amazonaws.com/{{ peerSetBucket }}/{{ peerSetKey }}"}';

const substitute = (template: string, values: Record<string, string>): string =>
  template.replace(/\{\{\s*([A-Za-z0-9_]+)\s*\}\}/g, (_, name: string) => {
    const v = values[name];
    if (v === undefined) throw new Error(`no value for document parameter ${name}`);
    return v;
  });

/** The file the apply document's first step fills, for these (validated) parameter values. */
export function peerSetDownloadPath(values: Record<string, string>): string {
  return substitute(PEER_SET_DOWNLOAD_PATH, values);
}

export function buildDocument(kind: DocumentKind): CommandDocument {
  const parameters: Record<string, DocumentParameter> = {};
  for (const spec of DOCUMENT_PARAMETERS[kind]) {
    parameters[spec.name] = {
      type: 'String',
      description: spec.description,
      allowedPattern: PARAMETER_PATTERNS[spec.name],
      ...(spec.default !== undefined ? { default: spec.default } : {}),
    };
  }
  const lines = scriptText(kind).replace(/\n$/, '').split('\n');
  const precondition = { StringEquals: ['platformType', 'Linux'] } as ShellStep['precondition'];
  // apply: SSM's download step first (S3 source, the instance's own role), then the script that
  // reads the file it left. No URL and no credential is ever a parameter.
  const download: DownloadStep[] =
    kind === 'apply'
      ? [
          {
            action: 'aws:downloadContent',
            name: 'downloadPeerSet',
            precondition,
            inputs: { sourceType: 'S3', sourceInfo: PEER_SET_SOURCE_INFO, destinationPath: PEER_SET_DOWNLOAD_PATH },
          },
        ]
      : [];
  return {
    schemaVersion: '2.2',
    description: DESCRIPTIONS[kind],
    parameters,
    mainSteps: [
      ...download,
      {
        action: 'aws:runShellScript',
        name: STEP_NAMES[kind],
        precondition,
        inputs: { timeoutSeconds: String(EXECUTION_TIMEOUT_SECONDS[kind]), runCommand: lines },
      },
    ],
  };
}

export const initDocument = (): CommandDocument => buildDocument('init');
export const applyDocument = (): CommandDocument => buildDocument('apply');
export const teardownDocument = (): CommandDocument => buildDocument('teardown');
export const reportDocument = (): CommandDocument => buildDocument('report');

/**
 * The script as SSM would run it: every `{{ name }}` replaced by the parameter's value (or its
 * default). Values must already be validated; this only substitutes.
 */
export function renderScript(kind: DocumentKind, values: Record<string, string>): string {
  return substitute(scriptText(kind), values);
}
