export interface HttpResponse {
  statusCode: number;
  headers?: Record<string, string>;
  body?: string;
}

const JSON_HEADERS = { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' };

export const ok = (body: unknown): HttpResponse => ({ statusCode: 200, headers: JSON_HEADERS, body: JSON.stringify(body) });
export const created = (body: unknown): HttpResponse => ({ statusCode: 201, headers: JSON_HEADERS, body: JSON.stringify(body) });
export const accepted = (body: unknown): HttpResponse => ({ statusCode: 202, headers: JSON_HEADERS, body: JSON.stringify(body) });
export const noContent = (): HttpResponse => ({ statusCode: 204, headers: { 'cache-control': 'no-store' } });

export function errorResponse(statusCode: number, code: string, message: string, field?: string): HttpResponse {
  return {
    statusCode,
    headers: JSON_HEADERS,
    body: JSON.stringify({ error: { code, message, ...(field ? { field } : {}) } }),
  };
}
