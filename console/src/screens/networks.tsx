// Networks: list, create (name, ranges, default DNS), edit the default DNS, delete after confirming.
import { useState } from 'preact/hooks';
import { answer, idempotencyKey, type Api, type Network } from '../api';
import { PagedTable, Confirm, Field, FormError, Modal, errorsOf, list, noErrors, usePaging, usePoll, type FormErrors, SubmitActions } from '../ui';

export function NetworksScreen({ api }: { api: Api }) {
  const paging = usePaging();
  const [page, setPage] = useState<{ items: Network[]; nextCursor?: string }>();
  const [error, setError] = useState<string>();
  const [dialog, setDialog] = useState<{ kind: 'create' } | { kind: 'dns' | 'delete'; network: Network }>();
  const reload = usePoll(
    async () => {
      try {
        setPage(await answer(api.GET('/networks', { params: { query: { limit: 50, ...(paging.cursor ? { cursor: paging.cursor } : {}) } } })));
        setError(undefined);
      } catch (err) {
        setError(errorsOf(err, []).form);
      }
    },
    15_000,
    [paging.cursor],
  );
  /** A dialog done: it closes and the list shows what it changed. */
  const closed = () => {
    setDialog(undefined);
    void reload();
  };
  return (
    <section aria-labelledby="networks-title">
      <div class="title-row">
        <h1 id="networks-title">Networks</h1>
        <button type="button" class="primary" onClick={() => setDialog({ kind: 'create' })}>
          Create network
        </button>
      </div>
      {error && <p role="alert" class="form-error">{error}</p>}
      <PagedTable
        label="Networks"
        columns={['Name', 'Ranges', 'Default DNS', 'Actions']}
        page={page}
        empty="No network yet. Create one to add gateways and clients."
        paging={paging}
        row={(n) => (
          <tr key={n.id}>
            <th scope="row">
              <a href={`#/networks/${encodeURIComponent(n.id)}/clients`}>{n.name}</a>
            </th>
            <td>
              {n.addressRange}
              {n.addressRange6 && <br />}
              {n.addressRange6}
            </td>
            <td>{n.defaultDns.join(', ') || '—'}</td>
            <td class="row-actions">
              <button type="button" aria-label={`Edit DNS of ${n.name}`} onClick={() => setDialog({ kind: 'dns', network: n })}>
                Edit DNS
              </button>
              <button type="button" class="danger" aria-label={`Delete ${n.name}`} onClick={() => setDialog({ kind: 'delete', network: n })}>
                Delete
              </button>
            </td>
          </tr>
        )}
      />
      {dialog?.kind === 'create' && (
        <CreateNetwork
          api={api}
          onClose={() => setDialog(undefined)}
          onCreated={(n) => {
            setDialog(undefined);
            location.hash = `#/networks/${encodeURIComponent(n.id)}/gateways`;
          }}
        />
      )}
      {dialog?.kind === 'dns' && (
        <EditDns
          api={api}
          network={dialog.network}
          onClose={() => setDialog(undefined)}
          onSaved={closed}
        />
      )}
      {dialog?.kind === 'delete' && (
        <Confirm
          question={`Are you sure you want to delete the network ${dialog.network.name}?`}
          detail="A network can be deleted once it has no gateways."
          action="Delete"
          onCancel={() => setDialog(undefined)}
          onConfirm={async () => {
            await answer(api.DELETE('/networks/{network}', { params: { path: { network: dialog.network.id } } }));
            closed();
          }}
        />
      )}
    </section>
  );
}

const NETWORK_FIELDS = ['name', 'addressRange', 'addressRange6', 'defaultDns'] as const;

function CreateNetwork(props: { api: Api; onClose: () => void; onCreated: (n: Network) => void }) {
  const [errors, setErrors] = useState<FormErrors>(noErrors);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget as HTMLFormElement);
    const v = (k: string) => String(f.get(k) ?? '').trim();
    setBusy(true);
    try {
      const n = await answer(
        props.api.POST('/networks', {
          params: { header: { 'Idempotency-Key': idempotencyKey() } },
          body: {
            name: v('name'),
            addressRange: v('addressRange'),
            ...(v('addressRange6') ? { addressRange6: v('addressRange6') } : {}),
            ...(v('defaultDns') ? { defaultDns: list(v('defaultDns')) } : {}),
          },
        }),
      );
      props.onCreated(n);
    } catch (err) {
      setErrors(errorsOf(err, NETWORK_FIELDS));
      setBusy(false);
    }
  };
  return (
    <Modal title="Create network" onClose={props.onClose}>
      <form onSubmit={submit} noValidate>
        <Field label="Name" name="name" errors={errors} required autoComplete="off" hint="Letters, digits, _ and -; up to 32." />
        <Field label="IPv4 range" name="addressRange" errors={errors} required placeholder="10.100.0.0/24" />
        <Field label="IPv6 range" name="addressRange6" errors={errors} placeholder="fd00:100::/112 (optional)" />
        <Field label="Default DNS" name="defaultDns" errors={errors} placeholder="10.100.0.53 (optional)" hint="Comma-separated IP addresses." />
        <FormError errors={errors} />
        <SubmitActions submit="Create" disabled={busy} onDismiss={props.onClose} />
      </form>
    </Modal>
  );
}

function EditDns(props: { api: Api; network: Network; onClose: () => void; onSaved: () => void }) {
  const [errors, setErrors] = useState<FormErrors>(noErrors);
  const submit = async (e: Event) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget as HTMLFormElement);
    try {
      await answer(
        props.api.PATCH('/networks/{network}', {
          params: { path: { network: props.network.id } },
          body: { defaultDns: list(String(f.get('defaultDns') ?? '')), version: props.network.version },
        }),
      );
      props.onSaved();
    } catch (err) {
      setErrors(errorsOf(err, ['defaultDns']));
    }
  };
  return (
    <Modal title={`Default DNS of ${props.network.name}`} onClose={props.onClose}>
      <form onSubmit={submit} noValidate>
        <Field label="Default DNS" name="defaultDns" errors={errors} defaultValue={props.network.defaultDns.join(', ')} hint="Comma-separated IP addresses; empty for none." />
        <FormError errors={errors} />
        <SubmitActions submit="Save" onDismiss={props.onClose} />
      </form>
    </Modal>
  );
}
