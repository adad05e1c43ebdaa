// What each route takes and answers. Handlers validate with these schemas and /openapi.json is
// generated from them, so the documentation cannot drift from the checks. One table per function,
// so a function's bundle holds only its own routes' schemas; openapi.ts reads them all.
import type * as z from 'zod/mini';
import { importItemsFromCsv } from '../domain/client-table.js';
import { ValidationError } from '../domain/errors.js';
import {
  CreateClientBody,
  CreateGatewayBody,
  CreateLinkBody,
  CreateNetworkBody,
  ExportClientsQuery,
  ImportClientsBody,
  ImportClientsDocument,
  ImportClientsQuery,
  ListAuditQuery,
  ListClientsQuery,
  ListQuery,
  MAX_IMPORT_CLIENTS,
  UpdateClientBody,
  UpdateGatewayBody,
  UpdateNetworkBody,
} from '../domain/schemas.js';

export interface RouteApiSpec {
  summary: string;
  body?: z.ZodMiniType;
  /** What OpenAPI shows for the body when it differs from what the stack validates (items checked one by one). */
  bodyDocument?: z.ZodMiniType;
  query?: z.ZodMiniType;
  /** Bodies larger than the stack's default (http-handler.ts MAX_BODY_BYTES). */
  maxBodyBytes?: number;
  /** A text/csv body, turned into the JSON body the schema checks (the query already parsed). */
  csvBody?: { description: string; toBody(text: string, query: unknown): unknown };
  /** What a JSON success body carries is documented in contract/answers.ts (kept out of the Lambda bundles). */
  success: {
    status: number;
    description: string;
    contentType?: string;
    /** More answer types than contentType (an export: CSV or JSON). */
    contentTypes?: string[];
    /** The JSON Schema of the answer, for OpenAPI. */
    schema?: Record<string, unknown>;
  };
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
  'POST /networks/{network}/clients-import': {
    summary: `Create up to ${MAX_IMPORT_CLIENTS} clients of one gateway, each on its own by the rules of a single create`,
    body: ImportClientsBody,
    bodyDocument: ImportClientsDocument,
    query: ImportClientsQuery,
    maxBodyBytes: 1024 * 1024,
    csvBody: {
      description:
        "an export's CSV (a header row; the columns name, publicKey, address, address6, dns (space-separated) and expiresAt are read, the export's other columns ignored); the gateway is ?gatewayId=",
      toBody: (text, query) => {
        const gatewayId = (query as { gatewayId?: string }).gatewayId;
        if (gatewayId === undefined) throw new ValidationError('gatewayId', 'a text/csv import names its gateway in the query: ?gatewayId=gw-…');
        return { gatewayId, clients: importItemsFromCsv(text) };
      },
    },
    success: {
      status: 200,
      description:
        'each item created or refused on its own: {created, failed, results} in item order; a refused item writes nothing, and its error.field names the field of that item (results[].index says which)',
      schema: importResultSchema(),
    },
  },
  'GET /networks/{network}/clients-export': {
    summary: 'Every client of the network (no private or preshared key), as CSV or JSON',
    query: ExportClientsQuery,
    success: {
      status: 200,
      description:
        'the file itself (text/csv: a header row, the client answer fields in order, RFC 4180 quoting, dns joined by spaces; application/json: {network, exportedAt, count, clients}), or, when larger than one answer allows, application/json {url, expiresAt, filename, format, count, bytes}: a signed URL minutes long',
      contentTypes: ['text/csv', 'application/json'],
    },
  },
} satisfies ApiTable;

/** The import answer, for OpenAPI. */
function importResultSchema(): Record<string, unknown> {
  const error = {
    type: 'object',
    required: ['code', 'message'],
    properties: {
      code: { type: 'string', description: 'name_taken, public_key_taken, address_taken, address_pool_exhausted, validation_failed …' },
      message: { type: 'string' },
      field: { type: 'string', description: "the item's field: name, publicKey, address, address6, dns, expiresAt" },
    },
  };
  return {
    type: 'object',
    required: ['created', 'failed', 'results'],
    properties: {
      created: { type: 'integer' },
      failed: { type: 'integer' },
      results: {
        type: 'array',
        items: {
          oneOf: [
            {
              type: 'object',
              required: ['index', 'status', 'client'],
              properties: { index: { type: 'integer' }, status: { const: 'created' }, client: { type: 'object', description: 'the client, as POST …/clients answers it' } },
            },
            { type: 'object', required: ['index', 'status', 'error'], properties: { index: { type: 'integer' }, status: { const: 'failed' }, error } },
          ],
        },
      },
    },
  };
}

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
