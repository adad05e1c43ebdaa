// The typed API client: paths and answers come from the generated schema.d.ts (from /openapi.json).
import createClient from 'openapi-fetch';
import type { paths } from './api/schema';

type Json<T> = T extends { content: { 'application/json': infer B } } ? B : never;
export type Network = Json<paths['/networks/{network}']['get']['responses'][200]>;
export type Gateway = Json<paths['/networks/{network}/gateways/{gatewayId}']['get']['responses'][200]>;
export type Client = Json<paths['/networks/{network}/clients/{clientId}']['get']['responses'][200]>;
export type ClientConfig = Json<paths['/networks/{network}/clients/{clientId}/config']['get']['responses'][200]>;
export type Link = Json<paths['/networks/{network}/clients/{clientId}/links']['post']['responses'][201]>;
export type ImportAnswer = Json<paths['/networks/{network}/clients-import']['post']['responses'][200]>;
export type AuditRecord = Json<paths['/audit']['get']['responses'][200]>['items'][number];
export type CreateNetwork = NonNullable<paths['/networks']['post']['requestBody']>['content']['application/json'];
export type CreateGateway = NonNullable<paths['/networks/{network}/gateways']['post']['requestBody']>['content']['application/json'];
export type CreateClient = NonNullable<paths['/networks/{network}/clients']['post']['requestBody']>['content']['application/json'];

/** An error answer of the API: `{error: {code, message, field?}}` and its status. */
export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

export type Api = ReturnType<typeof createApi>;

export function createApi(baseUrl: string, token: () => string | undefined, onUnauthorized: () => void) {
  const client = createClient<paths>({ baseUrl });
  client.use({
    onRequest({ request }) {
      const t = token();
      if (t) request.headers.set('authorization', `Bearer ${t}`);
      return request;
    },
    onResponse({ response }) {
      if (response.status === 401) onUnauthorized();
      return response;
    },
  });
  return client;
}


/** The answer's data, or an ApiFailure built from its error body. */
export async function answer<T>(call: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  let result: { data?: T; error?: unknown; response: Response };
  try {
    result = await call;
  } catch {
    throw new ApiFailure(0, 'network', 'The API cannot be reached; check your connection and try again.');
  }
  if (result.response.ok) return result.data as T;
  throw failureOf(result.response, result.error);
}

/** The ApiFailure of an error answer, from its parsed body. */
export function failureOf(response: Response, body: unknown): ApiFailure {
  const e = (body as { error?: { code?: string; message?: string; field?: string } } | undefined)?.error;
  return new ApiFailure(response.status, e?.code ?? 'http_error', e?.message ?? `HTTP ${response.status}`, e?.field);
}

/** A new Idempotency-Key for one submit of a create form. */
export const idempotencyKey = () => crypto.randomUUID();
