// Local stand-in for SSM Run Command. It checks parameters against the documents' own patterns,
// refuses any that could carry a credential (a signed URL, any URL, a WireGuard key), does what the
// apply document's aws:downloadContent step does (reads the named S3 object, here from the local S3
// server with the stack's credentials, into the file the script reads), substitutes the parameters
// into the same script text SSM would run, and
//  - "netns" mode (root + wg + wg-quick + wireguard-go + iptables + ip netns, and a namespace given
//    for the instance): runs the script with bash inside that network namespace;
//  - "record" mode (anything else, e.g. a laptop): records what it would have run, keeps a gateway
//    key pair of its own in the data folder, and follows the apply rules (digest, format,
//    generation) in TypeScript, so configs and links work; only the tunnel is not live.
// setOnline(false) makes it behave like an unreachable instance: commands stay pending and are
// delivered in order when it comes back (or time out, like SSM's delivery timeout).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { appendFileSync, chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import {
  validateCommandParameters,
  type CommandParameters,
  type CommandResult,
  type DocumentKind,
} from '../../functions/domain/gateway-commands.js';
import type { GatewayCommandSender, GatewayReporter } from '../../functions/app/ports.js';
import type { AgentState } from '../../functions/domain/gateway-report.js';
import { REPORT_STEP_NAME, reportStdoutKey } from '../../functions/domain/object-keys.js';
import { generateKeyPair, publicKeyFromPrivate } from '../../functions/domain/keys.js';
import { BLOCK } from '../../functions/domain/grammar.js';
import { parsePeerSet, peerSetDigest } from '../../functions/domain/peer-set.js';
import { peerSetDownloadPath, renderScript } from '../ssm/documents.js';

/** Reads an S3 object as the instance's role would (undefined: no such object). */
export type ObjectReader = (bucket: string, key: string) => Promise<Buffer | undefined>;
/** Writes an S3 object as the SSM agent does with the instance's role (a command's output). */
export type ObjectWriter = (bucket: string, key: string, body: string) => Promise<void>;

/** What no SSM parameter may ever hold: a signed URL's signature, any URL, a WireGuard key. */
const CREDENTIAL_LIKE: { what: string; re: RegExp }[] = [
  { what: 'X-Amz-Signature', re: /X-Amz-Signature/i },
  { what: 'a URL', re: /:\/\// },
  { what: 'a WireGuard key', re: new RegExp(BLOCK.WG_KEY) },
];

/**
 * Throws when a parameter holds something that must never be an SSM parameter (readable by anyone
 * with ssm:ListCommands, and kept in the agent's copy of the script on the instance).
 */
export function assertNoCredentialInParameters(kind: DocumentKind, params: CommandParameters): void {
  for (const [name, values] of Object.entries(params)) {
    for (const value of Array.isArray(values) ? values : [values]) {
      const hit = CREDENTIAL_LIKE.find(({ re }) => typeof value === 'string' && re.test(value));
      if (hit) throw new Error(`${kind} parameter ${name} holds ${hit.what}: no credential or URL may be an SSM parameter`);
    }
  }
}

export type RunnerMode = 'netns' | 'record';

export interface LocalGatewayRunnerOptions {
  /** Local data folder (keys of record mode, fetched peer sets, the command log). */
  dataDir: string;
  /** 'auto' (default): netns when this machine can, else record. */
  mode?: 'auto' | RunnerMode;
  /** Network namespace per instance id (netns mode). */
  namespaces?: Record<string, string>;
  /** Execution timeouts, like the documents' step timeouts. */
  executionTimeoutSeconds?: Partial<Record<DocumentKind, number>>;
  /** While offline, how long a command waits for delivery before it is timed out; default: forever. */
  deliveryTimeoutMs?: number;
  /** Extra environment for the scripts. */
  env?: Record<string, string>;
  /** The apply document's download step: reads the named object (the local S3 server in local mode). */
  objects?: ObjectReader;
  /** Where the agent writes a report command's output (the local S3 server in local mode). */
  outputs?: ObjectWriter;
}

export interface LocalCommand {
  commandId: string;
  instanceId: string;
  kind: DocumentKind;
  parameters: Record<string, string>;
  mode: RunnerMode;
  namespace?: string;
  sentAt: number;
  /** When it had its result (ms since the epoch): the apply's duration is finishedAt - sentAt. */
  finishedAt?: number;
  state: 'queued' | 'running' | 'done';
  /** When it started running (after waiting for the instance's earlier commands), for the benches. */
  startedAt?: number;
  result: CommandResult;
  stdout?: string;
  stderr?: string;
  exitCode?: number | null;
  /** The script after substitution (what ran, or what would have run). */
  script?: string;
  /** Report commands: where the agent writes the output (SendCommand's OutputS3BucketName/KeyPrefix). */
  output?: { bucket: string; keyPrefix: string };
}

/** Whether this machine can run the scripts for real. */
export function canRunForReal(): { ok: boolean; missing: string[] } {
  const missing: string[] = [];
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) missing.push('root');
  for (const tool of ['bash', 'ip', 'wg', 'wg-quick', 'wireguard-go', 'iptables', 'flock', 'sha256sum']) {
    const r = spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    if (r.status !== 0) missing.push(tool);
  }
  if (!missing.includes('ip') && spawnSync('ip', ['netns', 'list'], { stdio: 'ignore' }).status !== 0) missing.push('ip netns');
  return { ok: missing.length === 0, missing };
}

const DEFAULT_EXECUTION_TIMEOUT_SECONDS: Record<DocumentKind, number> = { init: 900, apply: 300, teardown: 300, report: 60 };
/** Report invocations kept for inspection; older ones are forgotten (one arrives every interval). */
const KEPT_REPORTS = 50;
const safeName = (s: string): string => s.replace(/[^A-Za-z0-9_-]/g, '_');
const tail = (s: string, max = 600): string => (s.length > max ? s.slice(-max) : s).trim();
const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));
/** SSM's reason for a script that ended with a non-zero exit code. */
const exitReason = (code: number | null, detail: string): string => `Failed: exit code ${code}: ${detail}`;

/** How a script ended in a namespace. */
interface ScriptRun {
  stdout: string;
  stderr: string;
  exitCode: number | null;
  timedOut: boolean;
}

/** The result SSM reports for a script that ran. */
function resultOf(run: ScriptRun): CommandResult {
  if (run.timedOut) return { status: 'timed_out', stdout: run.stdout, reason: 'ExecutionTimedOut' };
  if (run.exitCode === 0) return { status: 'success', stdout: run.stdout };
  return { status: 'failed', stdout: run.stdout, reason: exitReason(run.exitCode, tail(run.stderr)) };
}

/** Record mode: the command ends as the script would have, with exit code 0 and this output. */
function succeed(c: LocalCommand, stdout: string): void {
  c.stdout = stdout;
  c.exitCode = 0;
  c.result = { status: 'success', stdout };
}

/** Record mode: the apply script's failure line and exit code for this reason. */
function failApply(c: LocalCommand, generation: number, reason: string, code: number): void {
  c.exitCode = code;
  c.stderr = `WG_INGRESS_APPLY_FAILED generation=${generation} reason=${reason}\n`;
  c.result = { status: 'failed', reason: exitReason(code, c.stderr.trim()) };
}

/** Writes beside the file, then renames, so a reader sees the old content or the new. */
function writeAtomically(file: string, data: string | Buffer): void {
  writeFileSync(file + '.tmp', data, { mode: 0o600 });
  renameSync(file + '.tmp', file);
}

function readGeneration(file: string): number {
  return existsSync(file) ? Number(readFileSync(file, 'utf8').trim()) || 0 : 0;
}

export class LocalGatewayRunner implements GatewayCommandSender, GatewayReporter {
  readonly mode: RunnerMode;
  readonly dataDir: string;
  private online = true;
  private readonly namespaces = new Map<string, string>();
  /** By command id; a report, sent to several instances at once, by `<command id>/<instance id>`. */
  private readonly commands = new Map<string, LocalCommand>();
  private readonly reports: string[] = [];
  private readonly queues = new Map<string, LocalCommand[]>();
  private readonly busy = new Map<string, Promise<void>>();
  private readonly children = new Set<ChildProcess>();

  constructor(private readonly options: LocalGatewayRunnerOptions) {
    this.dataDir = resolve(options.dataDir);
    mkdirSync(this.dataDir, { recursive: true, mode: 0o700 });
    const wanted = options.mode ?? 'auto';
    this.mode = wanted === 'auto' ? (canRunForReal().ok ? 'netns' : 'record') : wanted;
    for (const [id, ns] of Object.entries(options.namespaces ?? {})) this.namespaces.set(id, ns);
  }

  setNamespace(instanceId: string, namespace: string): void {
    this.namespaces.set(instanceId, namespace);
  }

  setOnline(online: boolean): void {
    this.online = online;
    if (online) for (const instanceId of this.queues.keys()) this.pump(instanceId);
  }

  sendInit(instanceId: string, params: CommandParameters): Promise<{ commandId: string }> {
    return this.send('init', instanceId, params);
  }

  sendApply(instanceId: string, params: CommandParameters): Promise<{ commandId: string }> {
    return this.send('apply', instanceId, params);
  }

  sendTeardown(instanceId: string, params: CommandParameters): Promise<{ commandId: string }> {
    return this.send('teardown', instanceId, params);
  }

  /**
   * The report document as one command (to one instance from report runs; SSM would take 50). Record mode reports nothing (it has
   * no interface to report on), so the worker finds no output and status stays null; netns mode
   * runs the script in each instance's namespace and writes its stdout where the agent would.
   */
  async sendReport(instanceIds: string[], params: CommandParameters, output: { bucket: string; keyPrefix: string }): Promise<{ commandId: string }> {
    if (instanceIds.length < 1 || instanceIds.length > 50) throw new Error('a report goes to 1 to 50 instances');
    assertNoCredentialInParameters('report', params);
    const parameters = validateCommandParameters('report', params);
    const commandId = randomUUID();
    for (const instanceId of instanceIds) this.enqueue(this.newCommand(commandId, 'report', instanceId, parameters, output), `${commandId}/${instanceId}`);
    return { commandId };
  }

  /** What DescribeInstanceInformation would say: online while this runner is, unknown without a namespace (netns mode). */
  async agentStates(instanceIds: string[]): Promise<Map<string, AgentState>> {
    const state = (id: string): AgentState => {
      if (!this.online) return 'connection_lost';
      return this.mode === 'record' || this.namespaces.has(id) ? 'online' : 'unknown';
    };
    return new Map(instanceIds.map((id) => [id, state(id)]));
  }

  async getResult(commandId: string, instanceId: string): Promise<CommandResult> {
    const c = this.commands.get(commandId) ?? this.commands.get(`${commandId}/${instanceId}`);
    if (!c || c.instanceId !== instanceId) return { status: 'failed', reason: 'no such command on this runner' };
    if (c.state === 'queued') this.expireIfUndelivered(c);
    return { ...c.result };
  }

  /** Everything known about a command (stdout, stderr, exit code, the substituted script). */
  details(commandId: string, instanceId?: string): LocalCommand | undefined {
    return this.commands.get(commandId) ?? (instanceId ? this.commands.get(`${commandId}/${instanceId}`) : undefined);
  }

  list(): LocalCommand[] {
    return [...this.commands.values()];
  }

  /** Resolves when the command has a final result (or after timeoutMs with the pending one). */
  async wait(commandId: string, instanceId: string, timeoutMs = 120_000): Promise<CommandResult> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const r = await this.getResult(commandId, instanceId);
      if (r.status !== 'pending' || Date.now() > until) return r;
      await new Promise((res) => setTimeout(res, 20));
    }
  }

  /** Resolves when no delivered command is running any more. */
  async idle(): Promise<void> {
    while (this.busy.size) await Promise.allSettled([...this.busy.values()]);
  }

  /** Kills running scripts (tests' cleanup). Interfaces and namespaces are the caller's. */
  async close(): Promise<void> {
    this.online = false;
    for (const child of this.children) child.kill('SIGKILL');
    await this.idle();
  }

  private async send(kind: DocumentKind, instanceId: string, params: CommandParameters): Promise<{ commandId: string }> {
    // Never a credential in a parameter, in any suite or in local mode.
    assertNoCredentialInParameters(kind, params);
    // Same rule as the document: a value its allowedPattern refuses never reaches a script.
    const parameters = validateCommandParameters(kind, params);
    const command = this.newCommand(randomUUID(), kind, instanceId, parameters);
    this.enqueue(command, command.commandId);
    return { commandId: command.commandId };
  }

  private newCommand(commandId: string, kind: DocumentKind, instanceId: string, parameters: Record<string, string>, output?: LocalCommand['output']): LocalCommand {
    return {
      commandId,
      instanceId,
      kind,
      parameters,
      mode: this.mode,
      namespace: this.namespaces.get(instanceId),
      sentAt: Date.now(),
      state: 'queued',
      result: { status: 'pending' },
      ...(output ? { output } : {}),
    };
  }

  private enqueue(command: LocalCommand, key: string): void {
    this.commands.set(key, command);
    if (command.kind === 'report') {
      this.reports.push(key);
      while (this.reports.length > KEPT_REPORTS) this.commands.delete(this.reports.shift()!);
    }
    const queue = this.queues.get(command.instanceId) ?? [];
    queue.push(command);
    this.queues.set(command.instanceId, queue);
    this.pump(command.instanceId);
  }

  private expireIfUndelivered(c: LocalCommand): void {
    const limit = this.options.deliveryTimeoutMs;
    if (limit === undefined || Date.now() - c.sentAt <= limit) return;
    c.state = 'done';
    c.result = { status: 'timed_out', reason: 'DeliveryTimedOut' };
    const queue = this.queues.get(c.instanceId);
    if (queue) queue.splice(queue.indexOf(c), 1);
  }

  // One command at a time per instance, in the order sent.
  private pump(instanceId: string): void {
    if (!this.online || this.busy.has(instanceId)) return;
    const run = this.drain(instanceId);
    this.busy.set(instanceId, run);
    void run.finally(() => {
      this.busy.delete(instanceId);
      if (this.online && (this.queues.get(instanceId)?.length ?? 0) > 0) this.pump(instanceId);
    });
  }

  private async drain(instanceId: string): Promise<void> {
    const queue = this.queues.get(instanceId) ?? [];
    while (this.online && queue.length) {
      const c = queue.shift()!;
      this.expireIfUndelivered(c);
      if (c.state === 'done') continue;
      await this.deliver(c);
    }
  }

  private async deliver(c: LocalCommand): Promise<void> {
    c.state = 'running';
    c.startedAt = Date.now();
    try {
      if (c.mode === 'netns') await this.runInNamespace(c);
      else await this.record(c);
    } catch (err) {
      c.result = { status: 'failed', reason: messageOf(err) };
    }
    c.state = 'done';
    c.finishedAt = Date.now();
    // A report every interval would drown the record of what changed the gateways.
    if (c.kind !== 'report') this.log(c);
  }

  private log(c: LocalCommand): void {
    const entry = {
      at: new Date().toISOString(),
      commandId: c.commandId,
      instanceId: c.instanceId,
      document: c.kind,
      mode: c.mode,
      namespace: c.namespace,
      parameters: c.parameters,
      status: c.result.status,
      reason: c.result.reason,
      exitCode: c.exitCode,
    };
    appendFileSync(join(this.dataDir, 'commands.jsonl'), JSON.stringify(entry) + '\n', { mode: 0o600 });
  }

  private subdir(name: string): string {
    const dir = join(this.dataDir, name);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    return dir;
  }

  /**
   * The apply document's aws:downloadContent step: the object named by peerSetBucket/peerSetKey,
   * read with the stack's credentials; a failure fails the command as the step would.
   */
  private async download(c: LocalCommand): Promise<Buffer | { failure: string }> {
    const { peerSetBucket: bucket, peerSetKey: key } = c.parameters;
    if (!this.options.objects) return { failure: 'downloadPeerSet: this runner has no object store to download from' };
    try {
      const body = await this.options.objects(bucket!, key!);
      if (body === undefined) return { failure: `downloadPeerSet: failed to download s3://${bucket}/${key}: NoSuchKey` };
      return body;
    } catch (err) {
      return { failure: `downloadPeerSet: failed to download s3://${bucket}/${key}: ${messageOf(err)}` };
    }
  }

  private async runInNamespace(c: LocalCommand): Promise<void> {
    const namespace = c.namespace;
    if (!namespace) {
      c.result = { status: 'failed', reason: `Undeliverable: no network namespace for instance ${c.instanceId}` };
      return;
    }
    // Everything staged for the script goes, whatever happens: a downloaded peer set holds preshared keys.
    const cleanup: string[] = [];
    try {
      if (c.kind === 'apply') {
        // What the document's first step does: the object into the file the script reads.
        const body = await this.download(c);
        if (!Buffer.isBuffer(body)) {
          c.result = { status: 'failed', reason: body.failure };
          return;
        }
        const file = peerSetDownloadPath(c.parameters);
        cleanup.push(file);
        mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
        writeFileSync(file, body, { mode: 0o600 });
      }
      const script = renderScript(c.kind, c.parameters);
      c.script = script;
      const scriptFile = join(this.subdir('scripts'), `${c.commandId}.sh`);
      cleanup.push(scriptFile);
      writeFileSync(scriptFile, script, { mode: 0o700 });
      const timeoutSeconds =
        this.options.executionTimeoutSeconds?.[c.kind] ?? DEFAULT_EXECUTION_TIMEOUT_SECONDS[c.kind];
      const run = await this.spawnScript(namespace, scriptFile, timeoutSeconds);
      c.stdout = run.stdout;
      c.stderr = run.stderr;
      c.exitCode = run.exitCode;
      c.result = resultOf(run);
      if (c.kind === 'report') await this.writeOutput(c);
    } finally {
      for (const f of cleanup) rmSync(f, { force: true });
    }
  }

  /** Runs the script with bash inside the namespace; killed after timeoutSeconds. */
  private async spawnScript(namespace: string, scriptFile: string, timeoutSeconds: number): Promise<ScriptRun> {
    // Not detached: wireguard-go stays in the process group of this process and ends with it.
    const child = spawn('ip', ['netns', 'exec', namespace, 'bash', scriptFile], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        WG_QUICK_USERSPACE_IMPLEMENTATION: 'wireguard-go',
        ...this.options.env,
      },
    });
    this.children.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutSeconds * 1000);
    const closed = new Promise<void>((res) => child.once('close', () => res()));
    const exitCode = await new Promise<number | null>((res) => {
      child.once('exit', (code) => res(code));
      child.once('error', (err) => {
        stderr += String(err);
        res(null);
      });
    });
    clearTimeout(timer);
    // A daemon that kept our pipes open must not hold the result back.
    await Promise.race([closed, new Promise((res) => setTimeout(res, 1000))]);
    this.children.delete(child);
    return { stdout, stderr, exitCode, timedOut };
  }

  /** What the agent does with a command's output when the command names a bucket: stdout to <prefix>/<command>/<instance>/awsrunShellScript/<step>/stdout. */
  private async writeOutput(c: LocalCommand): Promise<void> {
    if (!c.output || !c.stdout) return;
    if (!this.options.outputs) throw new Error('this runner has no object store to write command output to');
    await this.options.outputs(c.output.bucket, reportStdoutKey(c.output.keyPrefix, c.commandId, c.instanceId, REPORT_STEP_NAME), c.stdout);
  }

  private async record(c: LocalCommand): Promise<void> {
    // No interface here to report on: the report ends with nothing written, so nothing is invented.
    if (c.kind === 'report') return succeed(c, '');
    c.script = renderScript(c.kind, c.parameters);
    // This runner's record of the instance: files named after instance and interface.
    const base = `${safeName(c.instanceId)}-${safeName(c.parameters.interfaceName!)}`;
    const dir = this.subdir('record');
    if (c.kind === 'init') return succeed(c, this.recordInit(base));
    if (c.kind === 'teardown') return succeed(c, this.recordTeardown(base, dir, c.parameters.interfaceName!));
    return this.recordApply(c, base, dir);
  }

  private gatewayKeyFile(base: string): string {
    return join(this.subdir('gateway-keys'), `${base}.key`);
  }

  /** Keeps the gateway key of an earlier init, else makes one; answers with its public key. */
  private recordInit(base: string): string {
    const keyFile = this.gatewayKeyFile(base);
    let privateKey: string;
    if (existsSync(keyFile)) privateKey = readFileSync(keyFile, 'utf8').trim();
    else {
      privateKey = generateKeyPair().privateKey;
      writeFileSync(keyFile, privateKey + '\n', { mode: 0o600 });
    }
    chmodSync(keyFile, 0o600);
    return `WG_INGRESS_PUBLIC_KEY=${publicKeyFromPrivate(privateKey)}\nWG_INGRESS_INIT_OK\n`;
  }

  private recordTeardown(base: string, dir: string, interfaceName: string): string {
    // What the script does to the instance's state, done to this runner's record of it.
    rmSync(this.gatewayKeyFile(base), { force: true });
    rmSync(join(dir, `${base}.generation`), { force: true });
    return `WG_INGRESS_TEARDOWN_OK interface=${interfaceName}\n`;
  }

  /** The apply script's rules: skip an old generation, check the peer set, then store both. */
  private async recordApply(c: LocalCommand, base: string, dir: string): Promise<void> {
    const generation = Number(c.parameters.generation);
    const generationFile = join(dir, `${base}.generation`);
    const applied = readGeneration(generationFile);
    if (generation <= applied) {
      return succeed(c, `WG_INGRESS_APPLY_SKIPPED generation=${generation} applied=${applied}\n`);
    }
    const checked = await this.checkPeerSet(c, c.parameters.peerSetSha256!);
    if ('reason' in checked) return failApply(c, generation, checked.reason, checked.code);
    writeAtomically(join(dir, `${base}.peers`), checked.text);
    writeAtomically(generationFile, `${generation}\n`);
    succeed(c, `WG_INGRESS_APPLIED generation=${generation} peers=${checked.peers}\n`);
  }

  /** Downloads and checks a peer set as the document does, failing with apply.sh's reasons and exit codes. */
  private async checkPeerSet(
    c: LocalCommand,
    sha256: string,
  ): Promise<{ text: Buffer; peers: number } | { reason: string; code: number }> {
    const text = await this.download(c);
    if (!Buffer.isBuffer(text)) return { reason: 'fetch_failed', code: 1 };
    if (peerSetDigest(text) !== sha256) return { reason: 'digest_mismatch', code: 3 };
    try {
      return { text, peers: parsePeerSet(text.toString('utf8')).length };
    } catch {
      return { reason: 'bad_line', code: 4 };
    }
  }
}
