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

/** A generation stamp per component of a gateway: its own ('gw') and each shard ('00' … '31'). */
export type GenerationVector = Record<string, number>;

/** One of a gateway's generation shards, as the worker and the gateway delete read it. */
export interface GenerationShard {
  generation: number;
  clientCount: number;
  /** Clients of this shard with an expiry the schedule still has to enforce (a hint; it cleans it). */
  expiring?: string[];
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
  /**
   * The generation of each component (the gateway's own, each shard) that this apply's peer set
   * was read at (outcome "sent", then kept with the result): recorded as appliedShards once applied.
   */
  vector?: GenerationVector;
  /** Failed applies in a row (backs off the retries). */
  failures?: number;
  /**
   * The sender's token (outcome "sent"): a "sent" record without commandId is the claim a sender
   * writes before it sends, so no other sender sends meanwhile; the record with the command id
   * replaces it only while it is still this claim.
   */
  claim?: string;
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
  /**
   * Written before generation shards existed: some client of this gateway has (or had) an expiry.
   * The schedule moves the names onto the shards and removes the flag.
   */
  expiringClients?: boolean;
  /**
   * The gateway's generation shards (domain/generation.ts), read with the gateway item; never stored
   * on it. Client changes move a shard, not the gateway item.
   */
  shards?: Record<string, GenerationShard>;
  /** Per component (own and each shard), the generation the peer set on the gateway was read at. */
  appliedShards?: GenerationVector;
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
  /** The generation stamp written together with this client's last change (on shard genShard). */
  generation: number;
  /**
   * The gateway's generation shard this client's changes move (domain/generation.ts). Absent on
   * clients written before shards: their stamps went to the gateway's own desiredGeneration.
   */
  genShard?: number;
  createdAt: string;
  updatedAt: string;
  version: number;
}

/** A client's bookkeeping: stored with it, never in an answer or an export. */
export type InternalClientField = 'genShard' | 'linksRevokedAt';

/** A client as answers and exports show it (without its bookkeeping). */
export type ShownClient = Omit<Client, InternalClientField>;

/** Kept apart from Client, in the secrets store; only the config-rendering path reads it. */
export interface ClientSecrets {
  privateKey?: string;
  presharedKey?: string;
}

/** A client whose expiresAt has passed: it may no longer connect, download or be sent a link. */
export function isExpired(client: Pick<Client, 'expiresAt'>, now: Date): boolean {
  return client.expiresAt !== undefined && Date.parse(client.expiresAt) <= now.getTime();
}
