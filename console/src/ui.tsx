// Building blocks every screen uses: a modal dialog (the native <dialog>, so focus is trapped and
// Escape closes it), a confirmation, labelled fields whose API errors sit next to them, and tables
// that scroll on a narrow screen.
import type { ComponentChildren } from 'preact';
import { useEffect, useId, useRef, useState } from 'preact/hooks';
import { ApiFailure } from './api';

export function Modal(props: { title: string; onClose: () => void; children: ComponentChildren; wide?: boolean }) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  useEffect(() => {
    const d = ref.current!;
    if (!d.open) d.showModal();
    return () => d.close();
  }, []);
  return (
    <dialog
      ref={ref}
      aria-labelledby={titleId}
      class={props.wide ? 'wide' : undefined}
      onCancel={(e) => {
        e.preventDefault();
        props.onClose();
      }}
    >
      <h2 id={titleId}>{props.title}</h2>
      {props.children}
    </dialog>
  );
}

/** Field errors by the answer's `field` (its first segment: `dns.1` → `dns`); the rest is the form's. */
export interface FormErrors {
  fields: Record<string, string>;
  form?: string;
}

export function errorsOf(err: unknown, fieldNames: readonly string[]): FormErrors {
  if (err instanceof ApiFailure) {
    const field = err.field?.split(/[.[]/)[0];
    if (field && fieldNames.includes(field)) return { fields: { [field]: err.message } };
    return { fields: {}, form: err.field && err.field !== 'body' ? `${err.field}: ${err.message}` : err.message };
  }
  return { fields: {}, form: err instanceof Error ? err.message : String(err) };
}

export const noErrors: FormErrors = { fields: {} };

/** A dialog form's buttons: its submit action, then the one that closes the dialog unchanged. */
export function SubmitActions(props: { submit: string; disabled?: boolean; dismiss?: string; onDismiss: () => void }) {
  return (
    <div class="actions">
      <button type="submit" class="primary" disabled={props.disabled}>
        {props.submit}
      </button>
      <button type="button" onClick={props.onDismiss}>
        {props.dismiss ?? 'Cancel'}
      </button>
    </div>
  );
}

export function FormError({ errors }: { errors: FormErrors }) {
  return errors.form ? (
    <p class="form-error" role="alert">
      {errors.form}
    </p>
  ) : null;
}

interface InputProps {
  required?: boolean;
  placeholder?: string;
  autoComplete?: string;
  inputMode?: 'numeric' | 'text';
  defaultValue?: string;
}

export function Field(props: { label: string; name: string; errors: FormErrors; hint?: string } & InputProps) {
  const { label, name, errors, hint, ...input } = props;
  const id = useId();
  const error = errors.fields[name];
  const described = [hint ? `${id}-hint` : '', error ? `${id}-error` : ''].filter(Boolean).join(' ');
  return (
    <div class="field">
      <label for={id}>{label}</label>
      <input id={id} name={name} aria-invalid={error ? 'true' : undefined} aria-describedby={described || undefined} {...input} />
      {hint && (
        <p class="hint" id={`${id}-hint`}>
          {hint}
        </p>
      )}
      {error && (
        <p class="field-error" id={`${id}-error`}>
          {error}
        </p>
      )}
    </div>
  );
}

export function Confirm(props: {
  question: string;
  detail?: string;
  action: string;
  onConfirm: () => Promise<void>;
  onCancel: () => void;
}) {
  const [busy, setBusy] = useState(false);
  const [errors, setErrors] = useState<FormErrors>(noErrors);
  return (
    <Modal title={props.question} onClose={props.onCancel}>
      {props.detail && <p>{props.detail}</p>}
      <FormError errors={errors} />
      <div class="actions">
        <button
          type="button"
          class="danger"
          disabled={busy}
          onClick={async () => {
            setBusy(true);
            try {
              await props.onConfirm();
            } catch (err) {
              setErrors(errorsOf(err, []));
              setBusy(false);
            }
          }}
        >
          {props.action}
        </button>
        <button type="button" onClick={props.onCancel}>
          Cancel
        </button>
      </div>
    </Modal>
  );
}

/** A table that scrolls sideways on a narrow screen (focusable, so keyboards can scroll it too). */
export function TableWrap(props: { label: string; children: ComponentChildren }) {
  return (
    <div class="table-wrap" role="region" aria-label={props.label} tabIndex={0}>
      {props.children}
    </div>
  );
}

/**
 * A page of an API list as a table: a line of its own when the page is empty, else the table in
 * its scrollable region (a header cell per column, `row` renders each item's <tr>); the pager below.
 */
export function PagedTable<T>(props: {
  label: string;
  columns: string[];
  page: { items: T[]; nextCursor?: string } | undefined;
  empty: ComponentChildren;
  row: (item: T) => ComponentChildren;
  paging: ReturnType<typeof usePaging>;
}) {
  const { page } = props;
  return (
    <>
      {page && page.items.length === 0 && <p>{props.empty}</p>}
      {page && page.items.length > 0 && (
        <TableWrap label={props.label}>
          <table>
            <thead>
              <tr>
                {props.columns.map((c) => (
                  <th key={c} scope="col">
                    {c}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>{page.items.map(props.row)}</tbody>
          </table>
        </TableWrap>
      )}
      <Pager paging={props.paging} nextCursor={page?.nextCursor} />
    </>
  );
}

/** Previous/next over an API list: a stack of the cursors that led to this page. */
export function usePaging() {
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  return {
    cursor: cursors[cursors.length - 1],
    page: cursors.length,
    next: (c: string) => setCursors([...cursors, c]),
    previous: () => setCursors(cursors.slice(0, -1)),
    reset: () => setCursors([undefined]),
  };
}

export function Pager(props: { paging: ReturnType<typeof usePaging>; nextCursor?: string }) {
  const { paging, nextCursor } = props;
  if (paging.page === 1 && !nextCursor) return null;
  return (
    <nav class="pager" aria-label="Pages">
      <button type="button" disabled={paging.page === 1} onClick={paging.previous}>
        Previous page
      </button>
      <span>Page {paging.page}</span>
      <button type="button" disabled={!nextCursor} onClick={() => nextCursor && paging.next(nextCursor)}>
        Next page
      </button>
    </nav>
  );
}

/** Polls `load` every `ms` while the page is visible; returns a function that loads now. */
export function usePoll(load: () => Promise<void>, ms: number, deps: unknown[]) {
  const latest = useRef(load);
  latest.current = load;
  useEffect(() => {
    let stopped = false;
    void latest.current();
    const t = window.setInterval(() => {
      if (!stopped && document.visibilityState === 'visible') void latest.current();
    }, ms);
    return () => {
      stopped = true;
      window.clearInterval(t);
    };
  }, deps);
  return () => latest.current();
}

export const list = (s: string) =>
  s
    .split(/[\s,;]+/)
    .map((x) => x.trim())
    .filter(Boolean);

export function ago(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return 'never';
  const s = Math.round((now - Date.parse(iso)) / 1000);
  if (s < 60) return `${Math.max(s, 0)} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}

export function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${i === 0 ? n : n.toFixed(1)} ${units[i]}`;
}

/** Saves a Blob as a file (an object URL clicked by a transient link). */
export function saveBlob(blob: Blob, filename: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
