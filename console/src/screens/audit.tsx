// A network's audit log, newest first, filtered by resource type (and id).
import { useState } from 'preact/hooks';
import { answer, type Api, type AuditRecord } from '../api';
import { PagedTable, errorsOf, usePaging, usePoll } from '../ui';

const TYPES = ['network', 'gateway', 'client', 'link'] as const;
type ResourceType = (typeof TYPES)[number];

function show(v: unknown): string {
  if (v === null || v === undefined) return '—';
  return typeof v === 'string' ? v : JSON.stringify(v);
}

export function AuditScreen({ api, network }: { api: Api; network: string }) {
  const paging = usePaging();
  const [type, setType] = useState<ResourceType | ''>('');
  const [resourceId, setResourceId] = useState('');
  const [page, setPage] = useState<{ items: AuditRecord[]; nextCursor?: string }>();
  const [error, setError] = useState<string>();
  const id = resourceId.trim();
  usePoll(
    async () => {
      try {
        const query = {
          network,
          limit: 50,
          ...(type ? { resourceType: type } : {}),
          ...(type && id ? { resourceId: id } : {}),
          ...(paging.cursor ? { cursor: paging.cursor } : {}),
        };
        setPage(await answer(api.GET('/audit', { params: { query } })));
        setError(undefined);
      } catch (err) {
        setError(errorsOf(err, []).form);
      }
    },
    15_000,
    [network, type, id, paging.cursor],
  );
  return (
    <section aria-labelledby="audit-title">
      <h2 id="audit-title">Audit log</h2>
      <div class="filters">
        <div class="field">
          <label for="audit-type">Resource type</label>
          <select
            id="audit-type"
            value={type}
            onChange={(e) => {
              setType((e.currentTarget as HTMLSelectElement).value as ResourceType | '');
              paging.reset();
            }}
          >
            <option value="">All</option>
            {TYPES.map((t) => (
              <option key={t} value={t}>
                {t}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="audit-id">Resource id</label>
          <input
            id="audit-id"
            value={resourceId}
            disabled={!type}
            onInput={(e) => {
              setResourceId((e.currentTarget as HTMLInputElement).value);
              paging.reset();
            }}
          />
        </div>
      </div>
      {error && (
        <p role="alert" class="form-error">
          {error}
        </p>
      )}
      <PagedTable
        label="Audit records"
        columns={['When', 'Who', 'Action', 'Resource', 'Changes']}
        page={page}
        empty="No record."
        paging={paging}
        row={(r) => (
          <tr key={r.id}>
            <td>
              <time dateTime={r.at}>{new Date(r.at).toLocaleString()}</time>
            </td>
            <td>
              {r.actor.type} {r.actor.name ?? r.actor.id}
            </td>
            <td>{r.action}</td>
            <td>
              {r.resource.type} {r.resource.id}
            </td>
            <td>
              {r.changes ? (
                <ul class="changes">
                  {Object.entries(r.changes).map(([field, c]) => (
                    <li key={field}>
                      {field}: {show(c.from)} → {show(c.to)}
                    </li>
                  ))}
                </ul>
              ) : (
                '—'
              )}
            </td>
          </tr>
        )}
      />
    </section>
  );
}
