// Bulk import (a CSV file, one client a row, per-row errors) and export (every client, no secrets)
// of a network's clients: POST …/clients-import and GET …/clients-export.
import { useState } from 'preact/hooks';
import { ApiFailure, answer, failureOf, idempotencyKey, type Api, type Gateway, type ImportAnswer } from '../api';
import { FormError, Modal, TableWrap, errorsOf, noErrors, saveBlob, type FormErrors, SubmitActions } from '../ui';

/** The columns the import takes (others, such as an export's id or enabled, are ignored). */
const IMPORT_COLUMNS = ['name', 'publicKey', 'address', 'address6', 'dns', 'expiresAt'] as const;
const MAX_ROWS = 1000;

/** A refusal of the whole file (field `body`: a bad column, a short row, bad quoting) sits next to the file input. */
function importErrors(err: unknown): FormErrors {
  return err instanceof ApiFailure && err.field === 'body' ? { fields: { file: err.message } } : errorsOf(err, ['gatewayId']);
}

export function ImportDialog(props: { api: Api; network: string; gateways: Gateway[]; onClose: () => void }) {
  const [errors, setErrors] = useState<FormErrors>(noErrors);
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<ImportAnswer>();
  const submit = async (e: Event) => {
    e.preventDefault();
    const form = new FormData(e.currentTarget as HTMLFormElement);
    const file = form.get('file');
    if (!(file instanceof File) || file.size === 0) {
      setErrors({ fields: { file: 'Choose a CSV file.' } });
      return;
    }
    setBusy(true);
    try {
      const gatewayId = props.gateways.length === 1 ? props.gateways[0]!.id : String(form.get('gatewayId'));
      // The file goes to the API as it is (text/csv): the API reads it by the same rules as its own
      // export, so an unknown column or a short row is refused there, not guessed at here.
      const answered = await answer(
        props.api.POST('/networks/{network}/clients-import', {
          params: { path: { network: props.network }, query: { gatewayId }, header: { 'Idempotency-Key': idempotencyKey() } },
          body: await file.text(),
          bodySerializer: (text) => String(text),
          headers: { 'content-type': 'text/csv' },
        }),
      );
      setOutcome(answered);
      setErrors(noErrors);
    } catch (err) {
      setErrors(importErrors(err));
    } finally {
      setBusy(false);
    }
  };
  const failures = outcome?.results.flatMap((r) => (r.status === 'failed' ? [r] : [])) ?? [];
  return (
    <Modal title="Import clients" onClose={props.onClose} wide>
      <form onSubmit={submit} noValidate>
        <p class="hint">
          A CSV file with a header row; columns {IMPORT_COLUMNS.join(', ')}, each optional (blank: generated). Up to {MAX_ROWS} rows. An export can be imported as it is.
        </p>
        {props.gateways.length > 1 && (
          <div class="field">
            <label for="import-gateway">Gateway</label>
            <select id="import-gateway" name="gatewayId">
              {props.gateways.map((g) => (
                <option key={g.id} value={g.id}>
                  {g.id} ({g.endpoint})
                </option>
              ))}
            </select>
          </div>
        )}
        <div class="field">
          <label for="import-file">CSV file</label>
          <input
            id="import-file"
            name="file"
            type="file"
            accept=".csv,text/csv"
            aria-invalid={errors.fields.file ? 'true' : undefined}
            aria-describedby={errors.fields.file ? 'import-file-error' : undefined}
          />
          {errors.fields.file && (
            <p class="field-error" id="import-file-error">
              {errors.fields.file}
            </p>
          )}
        </div>
        <FormError errors={errors} />
        <SubmitActions submit="Import" disabled={busy || props.gateways.length === 0} dismiss="Close" onDismiss={props.onClose} />
      </form>
      {outcome && (
        <div role="status">
          <p>
            {outcome.created} created, {outcome.failed} failed.
          </p>
        </div>
      )}
      {failures.length > 0 && (
        <TableWrap label="Rows that failed">
          <table>
            <caption>Rows that failed (nothing of them was written)</caption>
            <thead>
              <tr>
                <th scope="col">Row</th>
                <th scope="col">Field</th>
                <th scope="col">Error</th>
              </tr>
            </thead>
            <tbody>
              {failures.map((r) => (
                <tr key={r.index}>
                  {/* +2: the header is row 1 and the API counts from 0. */}
                  <td>{r.index + 2}</td>
                  <td>{r.error.field?.replace(/^clients\.\d+\./, '') ?? '—'}</td>
                  <td>{r.error.message}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      )}
    </Modal>
  );
}

export function ExportButton(props: { api: Api; network: string; onError: (message: string | undefined) => void }) {
  const [busy, setBusy] = useState(false);
  return (
    <button
      type="button"
      disabled={busy}
      onClick={async () => {
        setBusy(true);
        try {
          const { data, error, response } = await props.api.GET('/networks/{network}/clients-export', {
            params: { path: { network: props.network }, query: { format: 'csv' } },
            parseAs: 'blob',
          });
          if (!response.ok || !data) throw failureOf(response, error);
          // A large export answers a short-lived signed URL instead of the file itself.
          if (response.headers.get('content-type')?.includes('application/json')) {
            const body = JSON.parse(await data.text()) as { url?: string };
            if (body.url) location.assign(body.url);
          } else saveBlob(data, `${props.network}-clients.csv`);
          props.onError(undefined);
        } catch (err) {
          props.onError(errorsOf(err, []).form);
        } finally {
          setBusy(false);
        }
      }}
    >
      Export
    </button>
  );
}
