// What each route takes and answers. Handlers validate with these schemas and /openapi.json is
// generated from them, so the documentation cannot drift from the checks. One table per function,
// so a function's bundle holds only its own routes' schemas; openapi.ts reads them all.
import type * as z from 'zod/mini';
import {
  CreateClientBody,
  CreateGatewayBody,
  CreateLinkBody,
  CreateNetworkBody,
  ListAuditQuery,
  ListClientsQuery,
  ListQuery,
  UpdateClientBody,
  UpdateGatewayBody,
  UpdateNetworkBody,
} from '../domain/schemas.js';

export interface RouteApiSpec {
  summary: string;
  body?: z.ZodMiniType;
  query?: z.ZodMiniType;
  /** What the success body carries is documented in contract/answers.ts (kept out of the Lambda bundles). */
  success: { status: number; description: string; contentType?: string };
}

type ApiTable = Record<string, RouteApiSpec>;

export const publicApi = {
  'GET /health': { summary: 'Liveness check', success: { status: 200, description: 'the service answers' } },
  'GET /openapi.json': { summary: 'This document', success: { status: 200, description: 'OpenAPI 3.1 document' } },
} satisfies ApiTable;

export const networksApi = {
  'POST /networks': { summary: 'Create a network', body: CreateNetworkBody, success: { status: 201, description: 'the network' } },
  'GET /networks': { summary: 'List networks', query: ListQuery, success: { status: 200, description: '{items, nextCursor}' } },
  'GET /networks/{network}': { summary: 'One network', success: { status: 200, description: 'the network' } },
  'PATCH /networks/{network}': { summary: 'Change the default DNS', body: UpdateNetworkBody, success: { status: 200, description: 'the network' } },
  'DELETE /networks/{network}': { summary: 'Delete a network without gateways', success: { status: 204, description: 'deleted' } },
} satisfies ApiTable;

export const gatewaysApi = {
  'POST /networks/{network}/gateways': {
    summary: 'Designate an instance as ingress gateway (pending until it reports its public key)',
    body: CreateGatewayBody,
    success: { status: 202, description: 'the gateway, status pending' },
  },
  'GET /networks/{network}/gateways': { summary: 'List gateways', query: ListQuery, success: { status: 200, description: '{items, nextCursor}' } },
  'GET /networks/{network}/gateways/{gatewayId}': { summary: 'One gateway with its sync state and health', success: { status: 200, description: 'the gateway' } },
  'PATCH /networks/{network}/gateways/{gatewayId}': { summary: 'Edit a gateway', body: UpdateGatewayBody, success: { status: 200, description: 'the gateway' } },
  'DELETE /networks/{network}/gateways/{gatewayId}': { summary: 'Delete a gateway without clients', success: { status: 204, description: 'deleted' } },
  'POST /networks/{network}/gateways/{gatewayId}/sync': { summary: 'Force a full resync', success: { status: 202, description: 'the gateway' } },
} satisfies ApiTable;

export const clientsApi = {
  'POST /networks/{network}/clients': { summary: 'Create an external client', body: CreateClientBody, success: { status: 201, description: 'the client' } },
  'GET /networks/{network}/clients': { summary: 'List clients', query: ListClientsQuery, success: { status: 200, description: '{items, nextCursor}' } },
  'GET /networks/{network}/clients/{clientId}': { summary: 'One client with its status', success: { status: 200, description: 'the client' } },
  'PATCH /networks/{network}/clients/{clientId}': { summary: 'Enable, disable, change DNS or expiry', body: UpdateClientBody, success: { status: 200, description: 'the client' } },
  'DELETE /networks/{network}/clients/{clientId}': { summary: 'Delete a client for good', success: { status: 204, description: 'deleted' } },
} satisfies ApiTable;

export const clientDownloadsApi = {
  'GET /networks/{network}/clients/{clientId}/config': {
    summary: 'Signed URLs of the config file and its QR code',
    success: { status: 200, description: '{configUrl, qrUrl, filename, expiresAt}' },
  },
  'POST /networks/{network}/clients/{clientId}/links': { summary: 'Create a one-time download link', body: CreateLinkBody, success: { status: 201, description: '{url, expiresAt}' } },
  'DELETE /networks/{network}/clients/{clientId}/links': { summary: 'Revoke every open link of the client', success: { status: 204, description: 'revoked' } },
} satisfies ApiTable;

export const downloadPageApi = {
  'GET /dl/{token}': { summary: 'Landing page of a one-time link (spends nothing)', success: { status: 200, description: 'HTML page', contentType: 'text/html' } },
  'POST /dl/{token}': { summary: 'Spend a one-time link', success: { status: 200, description: 'HTML page with the download and the QR code', contentType: 'text/html' } },
} satisfies ApiTable;

export const auditApi = {
  'GET /audit': {
    summary: "A network's audit log, newest first (filter by resourceType, or resourceType and resourceId)",
    query: ListAuditQuery,
    success: { status: 200, description: '{items, nextCursor}: audit records {id, at, actor, action, resource, changes?, requestId}' },
  },
} satisfies ApiTable;

/** Every function's table, for the OpenAPI document (and the check that every route has a spec). */
export const apiTables = [publicApi, networksApi, gatewaysApi, clientsApi, clientDownloadsApi, downloadPageApi, auditApi] as const;
