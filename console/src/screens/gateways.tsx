// A network's gateways: register, status pending/ready, health and sync state, force a resync,
// delete after confirming.
import { useState } from 'preact/hooks';
import { answer, idempotencyKey, type Api, type CreateGateway, type Gateway } from '../api';
import { PagedTable, Confirm, Field, FormError, Modal, ago, errorsOf, list, noErrors, usePaging, usePoll, type FormErrors, SubmitActions } from '../ui';

export function inSync(g: Gateway): boolean {
  return g.status === 'ready' && g.appliedGeneration >= g.desiredGeneration;
}

export function GatewaysScreen({ api, network }: { api: Api; network: string }) {
  const paging = usePaging();
  const [page, setPage] = useState<{ items: Gateway[]; nextCursor?: string }>();
  const [error, setError] = useState<string>();
  const [dialog, setDialog] = useState<{ kind: 'register' } | { kind: 'delete'; gateway: Gateway }>();
  const [notice, setNotice] = useState<string>();
  const reload = usePoll(
    async () => {
      try {
        setPage(
          await answer(
            api.GET('/networks/{network}/gateways', { params: { path: { network }, query: { limit: 50, ...(paging.cursor ? { cursor: paging.cursor } : {}) } } }),
          ),
        );
        setError(undefined);
      } catch (err) {
        setError(errorsOf(err, []).form);
      }
    },
    3_000,
    [network, paging.cursor],
  );
  const resync = async (g: Gateway) => {
    try {
      await answer(api.POST('/networks/{network}/gateways/{gatewayId}/sync', { params: { path: { network, gatewayId: g.id } } }));
      setNotice(`Full resync of ${g.id} requested.`);
      void reload();
    } catch (err) {
      setNotice(errorsOf(err, []).form);
    }
  };
  /** A dialog done: it closes and the list shows what it changed. */
  const closed = () => {
    setDialog(undefined);
    void reload();
  };
  return (
    <section aria-labelledby="gateways-title">
      <div class="title-row">
        <h2 id="gateways-title">Gateways</h2>
        <button type="button" class="primary" onClick={() => setDialog({ kind: 'register' })}>
          Register gateway
        </button>
      </div>
      {error && <p role="alert" class="form-error">{error}</p>}
      <p role="status" class="notice">
        {notice}
      </p>
      <PagedTable
        label="Gateways"
        columns={['Gateway', 'Endpoint', 'Status', 'Health', 'Sync', 'Actions']}
        page={page}
        empty="No gateway yet. Register an EC2 instance tagged as a gateway to serve this network's clients."
        paging={paging}
        row={(g) => (
          <tr key={g.id}>
            <th scope="row">
              {g.id}
              <br />
              <span class="muted">{g.instanceId}</span>
            </th>
            <td>
              {g.endpoint}:{g.listenPort}
              {g.fullTunnel ? <span class="muted"> · full tunnel</span> : g.routedRanges.length > 0 && <span class="muted"> · {g.routedRanges.join(', ')}</span>}
            </td>
            <td>
              <span class={`badge ${g.status}`}>{g.status}</span>
              {g.statusReason && <span class="muted"> {g.statusReason}</span>}
            </td>
            <td>
              {g.health ? (
                <>
                  agent {g.health.agent} · interface {g.health.interfaceUp === null ? 'not reported' : g.health.interfaceUp ? 'up' : 'down'}
                  {g.health.peers !== null && ` · ${g.health.peersOnline ?? 0}/${g.health.peers} peers online`}
                  <br />
                  <span class="muted">last report {ago(g.health.lastSeenAt)}</span>
                </>
              ) : (
                <span class="muted">no report yet</span>
              )}
            </td>
            <td>
              {inSync(g) ? 'In effect' : `Not yet in effect (applied ${g.appliedGeneration} of ${g.desiredGeneration})`}
              {g.lastSync?.outcome === 'failed' && <p class="field-error">Last sync failed: {g.lastSync.message ?? 'no reason given'}</p>}
              {g.lastSync?.skippedCount ? <p class="field-error">{g.lastSync.skippedCount} client(s) left out</p> : null}
            </td>
            <td class="row-actions">
              <button type="button" aria-label={`Resync ${g.id}`} onClick={() => void resync(g)}>
                Resync
              </button>
              <button type="button" class="danger" aria-label={`Delete ${g.id}`} onClick={() => setDialog({ kind: 'delete', gateway: g })}>
                Delete
              </button>
            </td>
          </tr>
        )}
      />
      {dialog?.kind === 'register' && (
        <RegisterGateway
          api={api}
          network={network}
          onClose={() => setDialog(undefined)}
          onCreated={closed}
        />
      )}
      {dialog?.kind === 'delete' && (
        <Confirm
          question={`Are you sure you want to delete the gateway ${dialog.gateway.id}?`}
          detail="A gateway can be deleted once no client uses it; its interface and firewall rules are removed from the instance."
          action="Delete"
          onCancel={() => setDialog(undefined)}
          onConfirm={async () => {
            await answer(api.DELETE('/networks/{network}/gateways/{gatewayId}', { params: { path: { network, gatewayId: dialog.gateway.id } } }));
            closed();
          }}
        />
      )}
    </section>
  );
}

const GATEWAY_FIELDS = ['instanceId', 'endpoint', 'listenPort', 'routedRanges', 'fullTunnel', 'dns', 'mtu', 'persistentKeepalive'] as const;

function RegisterGateway(props: { api: Api; network: string; onClose: () => void; onCreated: () => void }) {
  const [errors, setErrors] = useState<FormErrors>(noErrors);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget as HTMLFormElement);
    const v = (k: string) => String(f.get(k) ?? '').trim();
    const num = (k: string) => (v(k) === '' ? undefined : Number(v(k)));
    const body: CreateGateway = { instanceId: v('instanceId'), endpoint: v('endpoint') };
    if (num('listenPort') !== undefined) body.listenPort = num('listenPort');
    if (v('routedRanges')) body.routedRanges = list(v('routedRanges'));
    if (f.get('fullTunnel')) body.fullTunnel = true;
    if (v('dns')) body.dns = list(v('dns'));
    if (num('mtu') !== undefined) body.mtu = num('mtu');
    if (num('persistentKeepalive') !== undefined) body.persistentKeepalive = num('persistentKeepalive');
    setBusy(true);
    try {
      await answer(
        props.api.POST('/networks/{network}/gateways', {
          params: { path: { network: props.network }, header: { 'Idempotency-Key': idempotencyKey() } },
          body,
        }),
      );
      props.onCreated();
    } catch (err) {
      setErrors(errorsOf(err, GATEWAY_FIELDS));
      setBusy(false);
    }
  };
  return (
    <Modal title="Register gateway" onClose={props.onClose}>
      <form onSubmit={submit} noValidate>
        <Field label="Instance id" name="instanceId" errors={errors} required placeholder="i-0123456789abcdef0" autoComplete="off" />
        <Field label="Endpoint" name="endpoint" errors={errors} required placeholder="vpn.example.com" hint="Public host name or IP address clients connect to." />
        <Field label="Listen port" name="listenPort" errors={errors} inputMode="numeric" placeholder="51820" />
        <Field label="Routed ranges" name="routedRanges" errors={errors} placeholder="192.168.10.0/24" hint="Comma-separated CIDRs reachable behind the gateway." />
        <div class="field checkbox">
          <input id="gw-full-tunnel" type="checkbox" name="fullTunnel" value="true" />
          <label for="gw-full-tunnel">Full tunnel (route all client traffic)</label>
        </div>
        <Field label="DNS" name="dns" errors={errors} hint="Comma-separated IP addresses." />
        <Field label="MTU" name="mtu" errors={errors} inputMode="numeric" />
        <Field label="Persistent keepalive" name="persistentKeepalive" errors={errors} inputMode="numeric" hint="Seconds; empty for off." />
        <FormError errors={errors} />
        <SubmitActions submit="Register" disabled={busy} onDismiss={props.onClose} />
      </form>
    </Modal>
  );
}
