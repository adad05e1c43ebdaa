// Local stand-in for SSM Run Command. It checks parameters against the documents' own patterns,
// substitutes them into the same script text SSM would run, and
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
import { join, resolve } from 'node:path';
import {
  validateCommandParameters,
  type CommandParameters,
  type CommandResult,
  type DocumentKind,
} from '../../functions/domain/gateway-commands.js';
import type { GatewayCommandSender } from '../../functions/app/ports.js';
import { generateKeyPair, publicKeyFromPrivate } from '../../functions/domain/keys.js';
import { parsePeerSet, peerSetDigest } from '../../functions/domain/peer-set.js';
import { renderScript } from '../ssm/documents.js';

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
}

export interface LocalCommand {
  commandId: string;
  instanceId: string;
  kind: DocumentKind;
  parameters: Record<string, string>;
  mode: RunnerMode;
  namespace?: string;
  sentAt: number;
  state: 'queued' | 'running' | 'done';
  result: CommandResult;
  stdout?: string;
  stderr?: string;
  exitCode?: number | null;
  /** The script after substitution (what ran, or what would have run). */
  script?: string;
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

const DEFAULT_EXECUTION_TIMEOUT_SECONDS: Record<DocumentKind, number> = { init: 900, apply: 300, teardown: 300 };
const safeName = (s: string): string => s.replace(/[^A-Za-z0-9_-]/g, '_');
const tail = (s: string, max = 600): string => (s.length > max ? s.slice(-max) : s).trim();

export class LocalGatewayRunner implements GatewayCommandSender {
  readonly mode: RunnerMode;
  readonly dataDir: string;
  private online = true;
  private readonly namespaces = new Map<string, string>();
  private readonly commands = new Map<string, LocalCommand>();
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

  async getResult(commandId: string, instanceId: string): Promise<CommandResult> {
    const c = this.commands.get(commandId);
    if (!c || c.instanceId !== instanceId) return { status: 'failed', reason: 'no such command on this runner' };
    if (c.state === 'queued') this.expireIfUndelivered(c);
    return { ...c.result };
  }

  /** Everything known about a command (stdout, stderr, exit code, the substituted script). */
  details(commandId: string): LocalCommand | undefined {
    return this.commands.get(commandId);
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
    // Same rule as the document: a value its allowedPattern refuses never reaches a script.
    const parameters = validateCommandParameters(kind, params);
    const command: LocalCommand = {
      commandId: randomUUID(),
      instanceId,
      kind,
      parameters,
      mode: this.mode,
      namespace: this.namespaces.get(instanceId),
      sentAt: Date.now(),
      state: 'queued',
      result: { status: 'pending' },
    };
    this.commands.set(command.commandId, command);
    const queue = this.queues.get(instanceId) ?? [];
    queue.push(command);
    this.queues.set(instanceId, queue);
    this.pump(instanceId);
    return { commandId: command.commandId };
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
    const run = (async () => {
      const queue = this.queues.get(instanceId) ?? [];
      while (this.online && queue.length) {
        const c = queue.shift()!;
        this.expireIfUndelivered(c);
        if (c.state === 'done') continue;
        c.state = 'running';
        try {
          if (c.mode === 'netns') await this.runInNamespace(c);
          else await this.record(c);
        } catch (err) {
          c.result = { status: 'failed', reason: err instanceof Error ? err.message : String(err) };
        }
        c.state = 'done';
        this.log(c);
      }
    })();
    this.busy.set(instanceId, run);
    void run.finally(() => {
      this.busy.delete(instanceId);
      if (this.online && (this.queues.get(instanceId)?.length ?? 0) > 0) this.pump(instanceId);
    });
  }

  private log(c: LocalCommand): void {
    const entry = {
      at: new Date().toISOString(),
      commandId: c.commandId,
      instanceId: c.instanceId,
      document: c.kind,
      mode: c.mode,
      namespace: c.namespace,
      // The peer-set URL is a bearer credential for a file with preshared keys: logged as a path only.
      parameters: c.parameters.peerSetUrl
        ? { ...c.parameters, peerSetUrl: c.parameters.peerSetUrl.replace(/\?.*$/, '?<signature omitted>') }
        : c.parameters,
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

  /** Reads a peer set the way the script would, from outside any namespace. */
  private async fetchPeerSet(url: string): Promise<Buffer> {
    if (url.startsWith('file://')) return readFileSync(url.slice('file://'.length));
    const res = await fetch(url, { signal: AbortSignal.timeout(60_000) });
    if (!res.ok) throw new Error(`fetch_failed: HTTP ${res.status}`);
    return Buffer.from(await res.arrayBuffer());
  }

  private async runInNamespace(c: LocalCommand): Promise<void> {
    if (!c.namespace) {
      c.result = { status: 'failed', reason: `Undeliverable: no network namespace for instance ${c.instanceId}` };
      return;
    }
    const values = { ...c.parameters };
    const cleanup: string[] = [];
    if (c.kind === 'apply' && /^https?:/.test(values.peerSetUrl!)) {
      // A namespace has its own loopback and no route out: fetch here and hand the script a file.
      // The script still checks the digest and every line of what it reads.
      const file = join(this.subdir('peer-sets'), `${c.commandId}.peers`);
      try {
        writeFileSync(file, await this.fetchPeerSet(values.peerSetUrl!), { mode: 0o600 });
      } catch (err) {
        c.result = { status: 'failed', reason: `fetch_failed: ${err instanceof Error ? err.message : String(err)}` };
        return;
      }
      values.peerSetUrl = `file://${file}`;
      validateCommandParameters('apply', Object.fromEntries(Object.entries(values).map(([k, v]) => [k, [v]])));
      cleanup.push(file);
    }
    const script = renderScript(c.kind, values);
    c.script = script;
    const scriptFile = join(this.subdir('scripts'), `${c.commandId}.sh`);
    writeFileSync(scriptFile, script, { mode: 0o700 });
    cleanup.push(scriptFile);
    try {
      const timeoutSeconds =
        this.options.executionTimeoutSeconds?.[c.kind] ?? DEFAULT_EXECUTION_TIMEOUT_SECONDS[c.kind];
      // Not detached: wireguard-go stays in the process group of this process and ends with it.
      const child = spawn('ip', ['netns', 'exec', c.namespace, 'bash', scriptFile], {
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
      c.stdout = stdout;
      c.stderr = stderr;
      c.exitCode = exitCode;
      if (timedOut) c.result = { status: 'timed_out', stdout, reason: 'ExecutionTimedOut' };
      else if (exitCode === 0) c.result = { status: 'success', stdout };
      else c.result = { status: 'failed', stdout, reason: `Failed: exit code ${exitCode}: ${tail(stderr)}` };
    } finally {
      for (const f of cleanup) rmSync(f, { force: true });
    }
  }

  private async record(c: LocalCommand): Promise<void> {
    c.script = renderScript(c.kind, c.parameters);
    const base = `${safeName(c.instanceId)}-${safeName(c.parameters.interfaceName!)}`;
    const dir = this.subdir('record');
    if (c.kind === 'init') {
      const keyFile = join(this.subdir('gateway-keys'), `${base}.key`);
      let privateKey: string;
      if (existsSync(keyFile)) privateKey = readFileSync(keyFile, 'utf8').trim();
      else {
        privateKey = generateKeyPair().privateKey;
        writeFileSync(keyFile, privateKey + '\n', { mode: 0o600 });
      }
      chmodSync(keyFile, 0o600);
      const stdout = `WG_INGRESS_PUBLIC_KEY=${publicKeyFromPrivate(privateKey)}\nWG_INGRESS_INIT_OK\n`;
      c.stdout = stdout;
      c.exitCode = 0;
      c.result = { status: 'success', stdout };
      return;
    }
    if (c.kind === 'teardown') {
      // What the script does to the instance's state, done to this runner's record of it.
      rmSync(join(this.subdir('gateway-keys'), `${base}.key`), { force: true });
      rmSync(join(dir, `${base}.generation`), { force: true });
      const stdout = `WG_INGRESS_TEARDOWN_OK interface=${c.parameters.interfaceName}\n`;
      c.stdout = stdout;
      c.exitCode = 0;
      c.result = { status: 'success', stdout };
      return;
    }
    const generation = Number(c.parameters.generation);
    const generationFile = join(dir, `${base}.generation`);
    const applied = existsSync(generationFile) ? Number(readFileSync(generationFile, 'utf8').trim()) || 0 : 0;
    const fail = (reason: string, code: number): void => {
      c.exitCode = code;
      c.stderr = `WG_INGRESS_APPLY_FAILED generation=${generation} reason=${reason}\n`;
      c.result = { status: 'failed', reason: `Failed: exit code ${code}: ${c.stderr.trim()}` };
    };
    if (generation <= applied) {
      const stdout = `WG_INGRESS_APPLY_SKIPPED generation=${generation} applied=${applied}\n`;
      c.stdout = stdout;
      c.exitCode = 0;
      c.result = { status: 'success', stdout };
      return;
    }
    let text: Buffer;
    try {
      text = await this.fetchPeerSet(c.parameters.peerSetUrl!);
    } catch {
      return fail('fetch_failed', 1);
    }
    if (peerSetDigest(text) !== c.parameters.peerSetSha256) {
      return fail('digest_mismatch', 3);
    }
    let peers: number;
    try {
      peers = parsePeerSet(text.toString('utf8')).length;
    } catch {
      return fail('bad_line', 4);
    }
    writeFileSync(join(dir, `${base}.peers.tmp`), text, { mode: 0o600 });
    renameSync(join(dir, `${base}.peers.tmp`), join(dir, `${base}.peers`));
    writeFileSync(generationFile + '.tmp', `${generation}\n`, { mode: 0o600 });
    renameSync(generationFile + '.tmp', generationFile);
    const stdout = `WG_INGRESS_APPLIED generation=${generation} peers=${peers}\n`;
    c.stdout = stdout;
    c.exitCode = 0;
    c.result = { status: 'success', stdout };
  }
}
