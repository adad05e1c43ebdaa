// What a gateway reports about itself (the report document's stdout: infra/gateway/report.sh),
// the one snapshot per gateway the worker keeps of it, and what answers show of it: a client's
// `status` and a gateway's `health`. Pure: no AWS, no I/O. Every value comes from the gateway's
// own `wg show <iface> dump`; nothing is estimated.
import { GatewayOutputError } from './gateway-commands.js';
import { BLOCK } from './grammar.js';

/** A handshake within this many seconds counts as online (WireGuard rekeys every 120 s; wg-portal's rule). */
export const ONLINE_WINDOW_SECONDS = 180;

/** [publicKey, endpoint ("ip:port") or null, latest handshake (epoch s, 0 = never), rx bytes, tx bytes] */
export type PeerTuple = [string, string | null, number, number, number];

export interface InterfaceReport {
  up: boolean;
  peers: PeerTuple[];
}

export interface GatewayReport {
  /** When the gateway ran `wg show` (its own clock), epoch seconds. */
  at: number;
  interfaces: Map<string, InterfaceReport>;
}

const KEY = new RegExp(`^${BLOCK.WG_KEY}$`);
const INTERFACE = new RegExp(`^${BLOCK.INTERFACE_NAME}$`);
const COUNTER = /^(0|[1-9][0-9]{0,19})$/;
// wg prints an IPv4 endpoint as a.b.c.d:port and an IPv6 one as [addr]:port.
const ENDPOINT = /^(?:[0-9]{1,3}(?:\.[0-9]{1,3}){3}|\[[0-9a-fA-F:.%a-zA-Z0-9]{2,64}\]):[0-9]{1,5}$/;

/**
 * Reads the report script's output. Refuses what the script never prints (a field that is not a
 * key, an address or a counter, a section cut short): a report that cannot be trusted whole is
 * not used at all.
 */
export function parseReportOutput(stdout: string): GatewayReport {
  const lines = stdout.split('\n');
  const head = /^WG_INGRESS_REPORT v=1 at=([0-9]{1,12})$/.exec(lines[0] ?? '');
  if (!head) throw new GatewayOutputError('report output does not start with its header');
  const interfaces = new Map<string, InterfaceReport>();
  let current: { name: string; report: InterfaceReport } | undefined;
  let ended = false;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (ended) {
      if (line !== '') throw new GatewayOutputError(`report output goes on after its end (line ${i + 1})`);
      continue;
    }
    if (current) {
      if (line.startsWith('WG_INGRESS_INTERFACE_END ')) {
        const m = /^WG_INGRESS_INTERFACE_END name=(\S+) peers=([0-9]{1,7})$/.exec(line);
        if (!m || m[1] !== current.name || Number(m[2]) !== current.report.peers.length) {
          throw new GatewayOutputError(`report of ${current.name} is incomplete (line ${i + 1})`);
        }
        interfaces.set(current.name, current.report);
        current = undefined;
        continue;
      }
      if (line === '' && i === lines.length - 1) break; // the output's last newline, inside a section
      current.report.peers.push(peerLine(line, i + 1));
      continue;
    }
    const m = /^WG_INGRESS_INTERFACE name=(\S+) up=([01])$/.exec(line);
    if (m) {
      if (!INTERFACE.test(m[1]!)) throw new GatewayOutputError(`report names an invalid interface (line ${i + 1})`);
      current = { name: m[1]!, report: { up: m[2] === '1', peers: [] } };
      continue;
    }
    if (line === 'WG_INGRESS_REPORT_END') {
      ended = true;
      continue;
    }
    throw new GatewayOutputError(`report output has an unexpected line ${i + 1}`);
  }
  if (!ended || current) throw new GatewayOutputError('report output was cut short');
  return { at: Number(head[1]), interfaces };
}

function peerLine(line: string, n: number): PeerTuple {
  const f = line.split('\t');
  if (f.length !== 5) throw new GatewayOutputError(`report peer line ${n} does not have 5 fields`);
  const [key, endpoint, handshake, rx, tx] = f as [string, string, string, string, string];
  if (!KEY.test(key)) throw new GatewayOutputError(`report peer line ${n} has no public key`);
  if (endpoint !== '(none)' && !ENDPOINT.test(endpoint)) throw new GatewayOutputError(`report peer line ${n} has an invalid endpoint`);
  if (!COUNTER.test(handshake) || !COUNTER.test(rx) || !COUNTER.test(tx)) throw new GatewayOutputError(`report peer line ${n} has an invalid counter`);
  return [key, endpoint === '(none)' ? null : endpoint, Number(handshake), Number(rx), Number(tx)];
}

// --- the snapshot ------------------------------------------------------------------------------------

/** SSM's view of the instance's agent (DescribeInstanceInformation's PingStatus). */
export type AgentState = 'online' | 'connection_lost' | 'inactive' | 'unknown';

export interface StatusSnapshot {
  version: 1;
  network: string;
  gatewayId: string;
  instanceId: string;
  interfaceName: string;
  /** When the worker wrote this snapshot. */
  observedAt: string;
  agent: AgentState;
  /** The last report the gateway itself sent; null until its first one arrives. */
  report: { at: string; interfaceUp: boolean; peers: PeerTuple[] } | null;
  /** The report command sent at the last run, read at the next one. */
  pending?: { commandId: string; sentAt: string; keyPrefix: string };
  /** Since when the worker has been asking this gateway for reports. */
  requestedSince: string;
  /** Since when desiredGeneration has been ahead of appliedGeneration, as the worker saw it. */
  behindSince?: string;
}

/** The client's `status` in answers. */
export interface ClientStatus {
  online: boolean;
  lastHandshakeAt: string | null;
  rxBytes: number;
  txBytes: number;
  endpoint: string | null;
  observedAt: string;
}

/** The gateway's `health` in answers. */
export interface GatewayHealth {
  agent: AgentState;
  lastSeenAt: string | null;
  interfaceUp: boolean | null;
  peers: number | null;
  peersOnline: number | null;
  observedAt: string;
}

const isOnline = (handshake: number, nowMs: number): boolean => handshake > 0 && nowMs - handshake * 1000 <= ONLINE_WINDOW_SECONDS * 1000;

/** A snapshot with its peers indexed by public key (built once per snapshot, reused by every answer). */
export class SnapshotView {
  private index?: Map<string, PeerTuple>;

  constructor(readonly snapshot: StatusSnapshot) {}

  /** null: the gateway has never reported this peer. */
  clientStatus(publicKey: string, now: Date): ClientStatus | null {
    const report = this.snapshot.report;
    if (!report) return null;
    this.index ??= new Map(report.peers.map((p) => [p[0], p]));
    const peer = this.index.get(publicKey);
    if (!peer) return null;
    const [, endpoint, handshake, rx, tx] = peer;
    return {
      online: isOnline(handshake, now.getTime()),
      lastHandshakeAt: handshake > 0 ? new Date(handshake * 1000).toISOString() : null,
      rxBytes: rx,
      txBytes: tx,
      endpoint,
      observedAt: report.at,
    };
  }

  health(now: Date): GatewayHealth {
    const { report, agent, observedAt } = this.snapshot;
    const nowMs = now.getTime();
    return {
      agent,
      lastSeenAt: report?.at ?? null,
      interfaceUp: report ? report.interfaceUp : null,
      peers: report ? report.peers.length : null,
      peersOnline: report ? report.peers.reduce((n, p) => n + (isOnline(p[2], nowMs) ? 1 : 0), 0) : null,
      observedAt,
    };
  }
}

/** Seconds since the gateway's last report (since reports were first asked for, when none came yet). */
export function reportAgeSeconds(snapshot: StatusSnapshot, now: Date): number {
  const since = Date.parse(snapshot.report?.at ?? snapshot.requestedSince);
  return Math.max(0, Math.round((now.getTime() - since) / 1000));
}
