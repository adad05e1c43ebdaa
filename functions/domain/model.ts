// The records the API answers with. Secrets (private and preshared keys) are never part of them.

export interface Network {
  id: string; // the network's name
  name: string;
  addressRange: string; // canonical IPv4 CIDR, e.g. "10.100.0.0/24"
  addressRange6?: string; // canonical IPv6 CIDR, e.g. "fd00:100::/112"
  defaultDns: string[];
  createdAt: string;
  updatedAt: string;
  version: number;
}

export type GatewayStatus = 'pending' | 'ready' | 'error';

/** A client the worker left out of a peer set it sent, because it cannot be rendered. */
export interface SkippedClient {
  client: string;
  /** peer-set.ts LeftOutCode: invalid_public_key, repeated_public_key, gateway_public_key, … */
  code: string;
  reason: string;
}

export interface SyncResult {
  at: string;
  generation: number;
  outcome: 'applied' | 'failed' | 'sent';
  message?: string;
  /**
   * The clients that should have been in this generation's peer set but were left out (fail
   * closed: the others still apply). At most SKIPPED_LISTED of them; `skippedCount` has them all.
   */
  skipped?: SkippedClient[];
  skippedCount?: number;
  commandId?: string;
  /**
   * The object the apply command reads (outcome "sent" only): deleted by the worker once the
   * command's result is recorded; the bucket's lifecycle rule is the backstop.
   */
  peerSetKey?: string;
  /** Applies sent in the current burst of changes (spaces them out). */
  burst?: number;
  /** Failed applies in a row (backs off the retries). */
  failures?: number;
}

export interface Gateway {
  id: string; // generated, e.g. "gw-3k9x2m7q"
  network: string;
  instanceId: string;
  endpoint: string; // host name, IPv4 or IPv6 (no brackets, no port)
  listenPort: number;
  interfaceName: string;
  address: string; // the gateway's own overlay IPv4 address
  address6?: string;
  routedRanges: string[];
  fullTunnel: boolean;
  dns: string[];
  mtu?: number;
  persistentKeepalive?: number;
  status: GatewayStatus;
  statusReason?: string;
  publicKey?: string; // reported by the init document; the private key never leaves the instance
  desiredGeneration: number;
  appliedGeneration: number;
  lastSync?: SyncResult;
  /** Some client of this gateway has (or had) an expiry: the schedule checks for ones that passed. */
  expiringClients?: boolean;
  /** The init command in flight while the gateway is pending. */
  initCommand?: { commandId: string; at: string };
  createdAt: string;
  updatedAt: string;
  version: number;
}

export interface Client {
  id: string; // the client's name
  name: string;
  network: string;
  gatewayId: string;
  address: string;
  address6?: string;
  publicKey: string;
  dns: string[];
  enabled: boolean;
  hasPrivateKey: boolean;
  hasPresharedKey: boolean;
  expiresAt?: string;
  /** Links created up to this instant are revoked, even one the revoking query did not see yet. */
  linksRevokedAt?: string;
  /** The gateway's desiredGeneration written together with this client's last change. */
  generation: number;
  createdAt: string;
  updatedAt: string;
  version: number;
}

/** Kept apart from Client, in the secrets store; only the config-rendering path reads it. */
export interface ClientSecrets {
  privateKey?: string;
  presharedKey?: string;
}

/** A client whose expiresAt has passed: it may no longer connect, download or be sent a link. */
export function isExpired(client: Pick<Client, 'expiresAt'>, now: Date): boolean {
  return client.expiresAt !== undefined && Date.parse(client.expiresAt) <= now.getTime();
}
