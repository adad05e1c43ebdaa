// A network's clients tab, the seed's flow: the table (name, addresses, gateway, the enabled
// switch, online state, in effect), "Create client", the config dialog (QR, download, one-time
// link), disable after confirming, delete after confirming, search by name prefix, paging, import
// and export.
import { useEffect, useState } from 'preact/hooks';
import { ApiFailure, answer, idempotencyKey, type Api, type Client, type CreateClient, type Gateway } from '../api';
import { PagedTable, Confirm, Field, FormError, Modal, ago, bytes, errorsOf, list, noErrors, usePaging, usePoll, type FormErrors, SubmitActions } from '../ui';
import { ExportButton, ImportDialog } from './import-export';

const PAGE_SIZE = 50;

export function ClientsScreen({ api, network }: { api: Api; network: string }) {
  const paging = usePaging();
  const [search, setSearch] = useState('');
  const [prefix, setPrefix] = useState('');
  const [page, setPage] = useState<{ items: Client[]; nextCursor?: string }>();
  const [error, setError] = useState<string>();
  const [gateways, setGateways] = useState<Gateway[]>();
  const [dialog, setDialog] = useState<
    { kind: 'create' } | { kind: 'import' } | { kind: 'config' | 'disable' | 'delete'; client: Client } | undefined
  >();
  const [notice, setNotice] = useState<string>();

  useEffect(() => {
    const t = window.setTimeout(() => {
      setPrefix(search.trim());
      paging.reset();
    }, 250);
    return () => window.clearTimeout(t);
  }, [search]);

  const reload = usePoll(
    async () => {
      try {
        const query = { limit: PAGE_SIZE, ...(paging.cursor ? { cursor: paging.cursor } : {}), ...(prefix ? { namePrefix: prefix } : {}) };
        const [clients, gws] = await Promise.all([
          answer(api.GET('/networks/{network}/clients', { params: { path: { network }, query } })),
          answer(api.GET('/networks/{network}/gateways', { params: { path: { network }, query: { limit: 100 } } })),
        ]);
        setPage(clients);
        setGateways(gws.items);
        setError(undefined);
      } catch (err) {
        setError(errorsOf(err, ['namePrefix']).fields.namePrefix ?? errorsOf(err, []).form);
      }
    },
    5_000,
    [network, paging.cursor, prefix],
  );

  const replace = (c: Client) => setPage((p) => p && { ...p, items: p.items.map((x) => (x.id === c.id ? c : x)) });
  const setEnabled = async (c: Client, enabled: boolean) => {
    const updated = await answer(
      api.PATCH('/networks/{network}/clients/{clientId}', { params: { path: { network, clientId: c.id } }, body: { enabled } }),
    );
    replace(updated);
    setNotice(`${c.name} is ${enabled ? 'enabled' : 'disabled'}.`);
  };

  /** A dialog done: it closes and the list shows what it changed. */
  const closed = () => {
    setDialog(undefined);
    void reload();
  };
  return (
    <section aria-labelledby="clients-title">
      <div class="title-row">
        <h2 id="clients-title">Clients</h2>
        <div class="toolbar">
          <button type="button" class="primary" onClick={() => setDialog({ kind: 'create' })}>
            Create client
          </button>
          <button type="button" onClick={() => setDialog({ kind: 'import' })}>
            Import
          </button>
          <ExportButton api={api} network={network} onError={setNotice} />
        </div>
      </div>
      <div class="field search">
        <label for="client-search">Search by name</label>
        <input
          id="client-search"
          type="search"
          value={search}
          autoComplete="off"
          aria-invalid={error && prefix ? 'true' : undefined}
          onInput={(e) => setSearch((e.currentTarget as HTMLInputElement).value)}
          placeholder="name prefix"
        />
      </div>
      {error && (
        <p role="alert" class="form-error">
          {error}
        </p>
      )}
      <p role="status" class="notice">
        {notice}
      </p>
      <PagedTable
        label="Clients"
        columns={['Name', 'Addresses', 'Gateway', 'Enabled', 'Online', 'In effect', 'Actions']}
        page={page}
        empty={prefix ? `No client's name starts with "${prefix}".` : 'No client yet.'}
        paging={paging}
        row={(c) => (
          <tr key={c.id}>
            <th scope="row">{c.name}</th>
            <td>
              {c.address}
              {c.address6 && <br />}
              {c.address6}
            </td>
            <td>{c.gatewayId}</td>
            <td>
              <button
                type="button"
                role="switch"
                class="switch"
                aria-checked={c.enabled ? 'true' : 'false'}
                aria-label={`Enabled: ${c.name}`}
                onClick={() => (c.enabled ? setDialog({ kind: 'disable', client: c }) : void setEnabled(c, true).catch((err) => setNotice(errorsOf(err, []).form)))}
              >
                <span aria-hidden="true">{c.enabled ? 'On' : 'Off'}</span>
              </button>
            </td>
            <td>
              <Status client={c} />
            </td>
            <td>{c.inEffect ? 'Yes' : 'Not yet'}</td>
            <td class="row-actions">
              <button type="button" aria-label={`Config of ${c.name}`} onClick={() => setDialog({ kind: 'config', client: c })}>
                Config
              </button>
              <button type="button" class="danger" aria-label={`Delete ${c.name}`} onClick={() => setDialog({ kind: 'delete', client: c })}>
                Delete
              </button>
            </td>
          </tr>
        )}
      />
      {dialog?.kind === 'create' && gateways && (
        <CreateClientDialog
          api={api}
          network={network}
          gateways={gateways}
          onClose={() => setDialog(undefined)}
          onCreated={(c) => {
            setDialog({ kind: 'config', client: c });
            void reload();
          }}
        />
      )}
      {dialog?.kind === 'config' && <ConfigDialog api={api} network={network} client={dialog.client} onClose={() => setDialog(undefined)} />}
      {dialog?.kind === 'disable' && (
        <Confirm
          question={`Are you sure you want to disable access for ${dialog.client.name}?`}
          detail="The client leaves the gateway but keeps its keys and address: enabling it again restores the same config."
          action="Disable"
          onCancel={() => setDialog(undefined)}
          onConfirm={async () => {
            await setEnabled(dialog.client, false);
            setDialog(undefined);
          }}
        />
      )}
      {dialog?.kind === 'delete' && (
        <Confirm
          question={`Are you sure you want to delete ${dialog.client.name}?`}
          detail="Its config and links stop working for good; this cannot be undone."
          action="Delete"
          onCancel={() => setDialog(undefined)}
          onConfirm={async () => {
            await answer(api.DELETE('/networks/{network}/clients/{clientId}', { params: { path: { network, clientId: dialog.client.id } } }));
            setDialog(undefined);
            setNotice(`${dialog.client.name} is deleted.`);
            void reload();
          }}
        />
      )}
      {dialog?.kind === 'import' && gateways && (
        <ImportDialog
          api={api}
          network={network}
          gateways={gateways}
          onClose={closed}
        />
      )}
    </section>
  );
}

function Status({ client }: { client: Client }) {
  const s = client.status;
  if (!s) return <span class="muted">no report</span>;
  return (
    <>
      <span class={`badge ${s.online ? 'ready' : 'pending'}`}>{s.online ? 'online' : 'offline'}</span>
      <br />
      <span class="muted">
        handshake {ago(s.lastHandshakeAt)} · ↓{bytes(s.rxBytes)} ↑{bytes(s.txBytes)}
      </span>
    </>
  );
}

const CLIENT_FIELDS = ['gatewayId', 'name', 'publicKey', 'dns', 'address'] as const;

function CreateClientDialog(props: { api: Api; network: string; gateways: Gateway[]; onClose: () => void; onCreated: (c: Client) => void }) {
  const [errors, setErrors] = useState<FormErrors>(noErrors);
  const [busy, setBusy] = useState(false);
  const { gateways } = props;
  const submit = async (e: Event) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget as HTMLFormElement);
    const v = (k: string) => String(f.get(k) ?? '').trim();
    const body: CreateClient = { gatewayId: gateways.length === 1 ? gateways[0]!.id : v('gatewayId') };
    if (v('name')) body.name = v('name');
    if (v('publicKey')) body.publicKey = v('publicKey');
    if (v('dns')) body.dns = list(v('dns'));
    if (v('address')) body.address = v('address');
    setBusy(true);
    try {
      const c = await answer(
        props.api.POST('/networks/{network}/clients', {
          params: { path: { network: props.network }, header: { 'Idempotency-Key': idempotencyKey() } },
          body,
        }),
      );
      props.onCreated(c);
    } catch (err) {
      setErrors(errorsOf(err, CLIENT_FIELDS));
      setBusy(false);
    }
  };
  return (
    <Modal title="Create client" onClose={props.onClose}>
      {gateways.length === 0 ? (
        <>
          <p>This network has no gateway yet: register one first.</p>
          <div class="actions">
            <a class="button" href={`#/networks/${encodeURIComponent(props.network)}/gateways`}>
              Go to gateways
            </a>
            <button type="button" onClick={props.onClose}>
              Close
            </button>
          </div>
        </>
      ) : (
        <form onSubmit={submit} noValidate>
          <p class="hint">Every field is optional: what is left blank is generated.</p>
          {gateways.length > 1 && (
            <div class="field">
              <label for="client-gateway">Gateway</label>
              <select id="client-gateway" name="gatewayId" aria-describedby={errors.fields.gatewayId ? 'client-gateway-error' : undefined}>
                {gateways.map((g) => (
                  <option key={g.id} value={g.id}>
                    {g.id} ({g.endpoint}, {g.status})
                  </option>
                ))}
              </select>
              {errors.fields.gatewayId && (
                <p class="field-error" id="client-gateway-error">
                  {errors.fields.gatewayId}
                </p>
              )}
            </div>
          )}
          <Field label="Name" name="name" errors={errors} autoComplete="off" hint="Generated when blank." />
          <Field label="Public key" name="publicKey" errors={errors} autoComplete="off" hint="Bring your own key: the server then never knows the private key." />
          <Field label="DNS" name="dns" errors={errors} hint="Comma-separated IP addresses; the network's default when blank." />
          <Field label="Address" name="address" errors={errors} hint="An IPv4 address in the network's range; allocated when blank." />
          <FormError errors={errors} />
          <SubmitActions submit="Create" disabled={busy} onDismiss={props.onClose} />
        </form>
      )}
    </Modal>
  );
}

/** The pop-up after creating (and from "Config"): QR code, "Download config", "Send one-time link". */
function ConfigDialog(props: { api: Api; network: string; client: Client; onClose: () => void }) {
  const { api, network, client } = props;
  const [qr, setQr] = useState<string>();
  const [waiting, setWaiting] = useState<string>();
  const [error, setError] = useState<string>();
  const [link, setLink] = useState<{ url: string; expiresAt: string }>();
  const [copied, setCopied] = useState(false);
  const path = { network, clientId: client.id };

  const config = () => answer(api.GET('/networks/{network}/clients/{clientId}/config', { params: { path } }));

  useEffect(() => {
    let stopped = false;
    let timer: number | undefined;
    const load = async () => {
      try {
        const c = await config();
        if (!stopped) {
          setQr(c.qrUrl);
          setWaiting(undefined);
        }
      } catch (err) {
        if (stopped) return;
        // 409 until the gateway is ready (it reports its public key): the config needs it.
        if (err instanceof ApiFailure && err.status === 409 && err.code === 'gateway_not_ready') {
          setWaiting(err.message);
          timer = window.setTimeout(() => void load(), 2_000);
        } else setError(errorsOf(err, []).form);
      }
    };
    void load();
    return () => {
      stopped = true;
      window.clearTimeout(timer);
    };
  }, [client.id]);

  const download = async () => {
    try {
      const c = await config();
      const a = document.createElement('a');
      a.href = c.configUrl;
      a.download = c.filename;
      document.body.append(a);
      a.click();
      a.remove();
    } catch (err) {
      setError(errorsOf(err, []).form);
    }
  };
  const sendLink = async () => {
    try {
      setLink(await answer(api.POST('/networks/{network}/clients/{clientId}/links', { params: { path }, body: {} })));
    } catch (err) {
      setError(errorsOf(err, []).form);
    }
  };
  const mailto = link
    ? `mailto:?subject=${encodeURIComponent('Your WireGuard configuration')}&body=${encodeURIComponent(
        `Open this link once to get your WireGuard configuration (it expires ${new Date(link.expiresAt).toLocaleString()}):\n\n${link.url}\n`,
      )}`
    : undefined;

  return (
    <Modal title={`Client ${client.name}`} onClose={props.onClose} wide>
      <p>
        {client.address}
        {client.address6 ? `, ${client.address6}` : ''} through {client.gatewayId}
        {client.enabled ? '' : ' (disabled)'}
      </p>
      {!client.hasPrivateKey && (
        <p class="note" role="note">
          This client brought its own public key: the config file holds a placeholder where the private key goes, and the QR code cannot be used as it is. Put the private key into the file before importing it.
        </p>
      )}
      {waiting && (
        <p role="status" class="notice">
          Waiting for the gateway: {waiting}
        </p>
      )}
      {error && (
        <p role="alert" class="form-error">
          {error}
        </p>
      )}
      {qr && <img class="qr" src={qr} alt={`QR code of ${client.name}'s WireGuard config`} width={256} height={256} />}
      <div class="actions">
        <button type="button" class="primary" disabled={!qr} onClick={() => void download()}>
          Download config
        </button>
        <button type="button" disabled={!qr} onClick={() => void sendLink()}>
          Send one-time link
        </button>
        <button type="button" onClick={props.onClose}>
          Close
        </button>
      </div>
      {link && (
        <div class="link-box">
          <div class="field">
            <label for="one-time-link">One-time link</label>
            <input id="one-time-link" readOnly value={link.url} onFocus={(e) => (e.currentTarget as HTMLInputElement).select()} />
            <p class="hint">Opens once; expires {new Date(link.expiresAt).toLocaleString()}.</p>
          </div>
          <div class="actions">
            <button
              type="button"
              onClick={() =>
                void navigator.clipboard.writeText(link.url).then(
                  () => setCopied(true),
                  () => setCopied(false),
                )
              }
            >
              Copy link
            </button>
            <a class="button" href={mailto}>
              Send by e-mail
            </a>
            <span role="status">{copied ? 'Copied.' : ''}</span>
          </div>
        </div>
      )}
    </Modal>
  );
}
