// Helpers for tests and benches that build network namespaces with real WireGuard (wireguard-go)
// tunnels: tool checks, commands inside namespaces, reachability probes, TCP listeners, and a
// cleanup that removes what a run made (also when it fails or is interrupted).
// See ../../../shared/WIREGUARD-HERE.md for what holds on this kind of machine.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CommandResult } from '../../functions/domain/gateway-commands.js';
import { canRunForReal, type LocalGatewayRunner } from '../../infra/local/gateway-runner.js';

/** As root on Debian/Ubuntu, installs what is missing (wireguard-tools, wireguard-go, iptables, ping). */
export function ensureTools(): void {
  const first = canRunForReal();
  const missing = first.missing.filter((m) => m !== 'root');
  const needsPing = spawnSync('sh', ['-c', 'command -v ping'], { stdio: 'ignore' }).status !== 0;
  if (first.missing.includes('root') || (missing.length === 0 && !needsPing)) return;
  if (spawnSync('sh', ['-c', 'command -v apt-get'], { stdio: 'ignore' }).status !== 0) return;
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const pkgs = ['wireguard-tools', 'wireguard-go', 'iptables', 'iproute2', 'iputils-ping', 'util-linux'];
  const install = () => spawnSync('apt-get', ['install', '-y', '--no-install-recommends', ...pkgs], { stdio: 'inherit', env });
  if (install().status !== 0) {
    spawnSync('apt-get', ['update'], { stdio: 'inherit', env });
    install();
  }
}

/**
 * Installs missing tools when it can, then says whether a suite must skip: `false` (run), or the
 * reason. In CI (`CI` set) a suite never skips: it fails loudly instead.
 */
export function netnsSkip(): false | string {
  ensureTools();
  const capable = canRunForReal();
  if (capable.ok || process.env.CI) return false;
  return `needs ${capable.missing.join(', ')}`;
}

const WG_ENV = { WG_QUICK_USERSPACE_IMPLEMENTATION: 'wireguard-go' };

export function run(cmd: string, args: string[], input?: string): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', input, env: { ...process.env, ...WG_ENV }, maxBuffer: 256 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

export const tryRun = (cmd: string, args: string[]): void => {
  spawnSync(cmd, args, { stdio: 'ignore' });
};

export const inNs = (ns: string, cmd: string, ...args: string[]): string => run('ip', ['netns', 'exec', ns, cmd, ...args]);

export const succeeds = (ns: string, cmd: string, ...args: string[]): boolean =>
  spawnSync('ip', ['netns', 'exec', ns, cmd, ...args], { stdio: 'ignore', timeout: 15_000 }).status === 0;

/** For "cannot reach" checks: inside namespaces an answer takes well under a millisecond. */
export const pings = (ns: string, ip: string): boolean => succeeds(ns, 'ping', '-n', '-q', '-c', '2', '-i', '0.2', '-W', '1', ip);

/**
 * Positive reachability. A peer that lost its session on the gateway (removed and re-added, or the
 * interface restarted) only starts a new handshake after WireGuard's keepalive + rekey timeouts
 * (~15 s) without answers, so this waits up to 25 s by default.
 */
export function reaches(ns: string, ip: string, timeoutMs = 25_000): boolean {
  const until = Date.now() + timeoutMs;
  do {
    if (succeeds(ns, 'ping', '-n', '-q', '-c', '1', '-W', '1', ip)) return true;
  } while (Date.now() < until);
  return false;
}

/** Opens a TCP connection with bash's /dev/tcp, sends a line, returns the answer ('' when refused/timed out). */
export function tcpExchange(ns: string, ip: string, port: number, timeoutSeconds = 2): string {
  const r = spawnSync(
    'ip',
    ['netns', 'exec', ns, 'timeout', String(timeoutSeconds), 'bash', '-c', `exec 3<>/dev/tcp/${ip}/${port} && echo hello >&3 && read -r line <&3 && echo "$line"`],
    { encoding: 'utf8', timeout: 10_000 },
  );
  return r.status === 0 ? r.stdout.trim() : '';
}

/** A TCP server in a namespace that answers each line with "<line> from <peer address>". */
export async function tcpServer(ns: string, ip: string, port: number, children: ChildProcess[]): Promise<ChildProcess> {
  const code = `require('net').createServer((s) => { s.setEncoding('utf8'); s.on('data', (d) => s.end(d.trim() + ' from ' + s.remoteAddress + '\\n')); }).listen(${port}, '${ip}', () => console.log('listening'));`;
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  await new Promise<void>((res, rej) => {
    child.stdout!.once('data', () => res());
    child.once('exit', (c) => rej(new Error(`tcp server in ${ns} exited ${c}`)));
  });
  return child;
}

export function keyPair(): { privateKey: string; publicKey: string } {
  const privateKey = run('wg', ['genkey']).trim();
  return { privateKey, publicKey: run('wg', ['pubkey'], privateKey + '\n').trim() };
}

/** Creates namespaces with their loopback up. */
export function addNamespaces(names: string[]): void {
  for (const ns of names) run('ip', ['netns', 'add', ns]);
  for (const ns of names) inNs(ns, 'ip', 'link', 'set', 'lo', 'up');
}

/** A veth pair between two namespaces, addressed (CIDR) and up. */
export function veth(a: string, nsA: string, ipA: string, b: string, nsB: string, ipB: string): void {
  run('ip', ['link', 'add', a, 'netns', nsA, 'type', 'veth', 'peer', 'name', b, 'netns', nsB]);
  inNs(nsA, 'ip', 'addr', 'add', ipA, 'dev', a);
  inNs(nsB, 'ip', 'addr', 'add', ipB, 'dev', b);
  inNs(nsA, 'ip', 'link', 'set', a, 'up');
  inNs(nsB, 'ip', 'link', 'set', b, 'up');
}

/** The peers of a WireGuard interface from `wg show <iface> dump`. */
export interface DumpPeer {
  publicKey: string;
  presharedKey: string | undefined;
  endpoint: string | undefined;
  allowedIps: string[];
  latestHandshake: number;
}

export function wgDump(ns: string, iface: string): DumpPeer[] {
  const lines = inNs(ns, 'wg', 'show', iface, 'dump').split('\n').filter(Boolean);
  return lines.slice(1).map((line) => {
    const [publicKey, psk, endpoint, allowed, handshake] = line.split('\t');
    return {
      publicKey: publicKey!,
      presharedKey: psk === '(none)' ? undefined : psk,
      endpoint: endpoint === '(none)' ? undefined : endpoint,
      allowedIps: allowed === '(none)' ? [] : allowed!.split(',').sort(),
      latestHandshake: Number(handshake),
    };
  });
}

export interface Teardown {
  /** Helper processes (listeners) to kill. */
  children?: ChildProcess[];
  /** WireGuard interfaces as [namespace, name]: deleting one ends its wireguard-go daemon. */
  interfaces?: [string, string][];
  namespaces?: string[];
  paths?: string[];
}

/** Removes everything a run made; never throws. */
export function teardown(t: Teardown): void {
  for (const c of t.children ?? []) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  // Deleting a wireguard-go interface ends its daemon; a deleted namespace alone would not.
  for (const [ns, ifname] of t.interfaces ?? []) tryRun('ip', ['netns', 'exec', ns, 'ip', 'link', 'del', ifname]);
  for (const ns of t.namespaces ?? []) tryRun('ip', ['netns', 'del', ns]);
  for (const [, ifname] of t.interfaces ?? []) {
    const pids = spawnSync('pgrep', ['-x', '-f', `wireguard-go ${ifname}`], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
    for (const pid of pids) tryRun('kill', [pid]);
    rmSync(`/var/run/wireguard/${ifname}.sock`, { force: true });
  }
  for (const p of t.paths ?? []) rmSync(p, { recursive: true, force: true });
}

/** A run stopped from outside (Ctrl-C, a CI timeout) still removes what it made. */
export function cleanupOnSignal(cleanup: () => void): void {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      cleanup();
      process.exit(130);
    });
  }
}

/** A command's final result; a failure's reason carries the script's stdout and stderr for the test output. */
export async function finishCommand(runner: LocalGatewayRunner, instanceId: string, commandId: string): Promise<CommandResult> {
  const result = await runner.wait(commandId, instanceId, 60_000);
  if (result.status !== 'success') {
    const d = runner.details(commandId);
    result.reason = `${result.reason ?? ''}\nstdout: ${d?.stdout ?? ''}\nstderr: ${d?.stderr ?? ''}`;
  }
  return result;
}

export interface WgClient {
  ns: string;
  ifname: string;
  privateKey: string;
  presharedKey?: string;
  /** The client's own addresses with prefix, e.g. 10.99.0.10/32. */
  addresses: string[];
  gatewayPublicKey: string;
  /** host:port of the gateway. */
  endpoint: string;
  allowedIps: string[];
}

/** Brings a test client up in its namespace with wg-quick (config file 0600 in `dir`). */
export function wgQuickUp(dir: string, c: WgClient): void {
  const file = join(dir, `${c.ifname}.conf`);
  writeFileSync(
    file,
    [
      '[Interface]',
      `PrivateKey = ${c.privateKey}`,
      `Address = ${c.addresses.join(', ')}`,
      '',
      '[Peer]',
      `PublicKey = ${c.gatewayPublicKey}`,
      ...(c.presharedKey ? [`PresharedKey = ${c.presharedKey}`] : []),
      `Endpoint = ${c.endpoint}`,
      `AllowedIPs = ${c.allowedIps.join(', ')}`,
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  inNs(c.ns, 'wg-quick', 'up', file);
}
