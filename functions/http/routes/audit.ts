import { listAudit, type AuditDeps } from '../../app/audit.js';
import { auditApi } from '../../contract/api-spec.js';
import { httpHandler, routesOf, type HttpOptions } from '../http-handler.js';
import { ok } from '../responses.js';

const route = routesOf(auditApi);

export function auditHandler(deps: AuditDeps, options: HttpOptions) {
  return httpHandler([route('GET /audit', async ({ query }) => ok(await listAudit(deps, query)))], options);
}
