// Reading the audit log. Records are written by the stores with the changes they describe (see
// ports.ts); this is the one read path, GET /audit.
import type { AuditRecord } from '../domain/audit.js';
import { ValidationError } from '../domain/errors.js';
import type { ListAuditQuery } from '../domain/schemas.js';
import type { AuditReader, Page } from './ports.js';

export interface AuditDeps {
  audit: AuditReader;
}

export async function listAudit(deps: AuditDeps, query: ListAuditQuery): Promise<Page<AuditRecord>> {
  if (query.resourceId !== undefined && query.resourceType === undefined) {
    throw new ValidationError('resourceId', 'resourceId needs resourceType');
  }
  return deps.audit.list({
    network: query.network,
    ...(query.resourceType !== undefined ? { resourceType: query.resourceType } : {}),
    ...(query.resourceId !== undefined ? { resourceId: query.resourceId } : {}),
    limit: query.limit,
    ...(query.cursor !== undefined ? { cursor: query.cursor } : {}),
  });
}
