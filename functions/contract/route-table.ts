// Which Lambda function serves which HTTP route. CDK builds the API from this table and the
// local server dispatches with it, so the two cannot drift apart. With api-spec.ts (what each
// route takes and answers) and domain/schemas.ts it is the API's contract, read by http/ and the
// entries alike.

export type FunctionName =
  | 'networks'
  | 'gateways'
  | 'clients'
  | 'client-downloads'
  | 'download-page'
  | 'audit'
  | 'public';

export interface RouteSpec {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  path: string; // API Gateway syntax: /networks/{network}
  fn: FunctionName;
  /** Public routes skip the JWT authorizer. */
  public?: boolean;
  /** Creates that take an Idempotency-Key header (one-time links never: their token is not stored). */
  idempotent?: boolean;
  /** A read that hands out secrets (a config with its private key): admins only, never viewers. */
  adminOnly?: boolean;
}

export const routes: readonly RouteSpec[] = [
  { method: 'GET', path: '/health', fn: 'public', public: true },
  { method: 'GET', path: '/openapi.json', fn: 'public', public: true },

  { method: 'POST', path: '/networks', fn: 'networks', idempotent: true },
  { method: 'GET', path: '/networks', fn: 'networks' },
  { method: 'GET', path: '/networks/{network}', fn: 'networks' },
  { method: 'PATCH', path: '/networks/{network}', fn: 'networks' },
  { method: 'DELETE', path: '/networks/{network}', fn: 'networks' },

  { method: 'POST', path: '/networks/{network}/gateways', fn: 'gateways', idempotent: true },
  { method: 'GET', path: '/networks/{network}/gateways', fn: 'gateways' },
  { method: 'GET', path: '/networks/{network}/gateways/{gatewayId}', fn: 'gateways' },
  { method: 'PATCH', path: '/networks/{network}/gateways/{gatewayId}', fn: 'gateways' },
  { method: 'DELETE', path: '/networks/{network}/gateways/{gatewayId}', fn: 'gateways' },
  { method: 'POST', path: '/networks/{network}/gateways/{gatewayId}/sync', fn: 'gateways' },

  { method: 'POST', path: '/networks/{network}/clients', fn: 'clients', idempotent: true },
  { method: 'GET', path: '/networks/{network}/clients', fn: 'clients' },
  { method: 'GET', path: '/networks/{network}/clients/{clientId}', fn: 'clients' },
  { method: 'PATCH', path: '/networks/{network}/clients/{clientId}', fn: 'clients' },
  { method: 'DELETE', path: '/networks/{network}/clients/{clientId}', fn: 'clients' },
  // Bulk: up to 1,000 clients a request, each created or refused on its own; every client, no secrets.
  { method: 'POST', path: '/networks/{network}/clients-import', fn: 'clients', idempotent: true },
  { method: 'GET', path: '/networks/{network}/clients-export', fn: 'clients' },

  { method: 'GET', path: '/networks/{network}/clients/{clientId}/config', fn: 'client-downloads', adminOnly: true },
  { method: 'POST', path: '/networks/{network}/clients/{clientId}/links', fn: 'client-downloads' },
  { method: 'DELETE', path: '/networks/{network}/clients/{clientId}/links', fn: 'client-downloads' },

  // Its own function: the only one that reads the audit log, and it may only read the table.
  { method: 'GET', path: '/audit', fn: 'audit' },

  { method: 'GET', path: '/dl/{token}', fn: 'download-page', public: true },
  { method: 'POST', path: '/dl/{token}', fn: 'download-page', public: true },
];

/** Entry files, relative to the repository root; each exports `handler`. */
export const functionEntries: Record<FunctionName | 'gateway-sync', string> = {
  networks: 'functions/api/networks.ts',
  gateways: 'functions/api/gateways.ts',
  clients: 'functions/api/clients.ts',
  'client-downloads': 'functions/api/client-downloads.ts',
  'download-page': 'functions/api/download-page.ts',
  audit: 'functions/api/audit.ts',
  public: 'functions/api/public.ts',
  'gateway-sync': 'functions/worker/gateway-sync.ts',
};

/**
 * What a browser on the frontend's origin may send: API Gateway's CORS configuration in AWS
 * (infra/lib/stateless.ts) and the local server (infra/local/api-server.ts) both answer with these.
 */
export const cors = {
  allowMethods: ['GET', 'POST', 'PATCH', 'DELETE'] as const,
  // Idempotency-Key: a frontend retrying a create must be able to send it.
  allowHeaders: ['authorization', 'content-type', 'idempotency-key'] as const,
};
