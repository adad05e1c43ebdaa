// RFC 4180 CSV: the export's text form and the import's text body. A field is quoted when it holds
// a comma, a quote, CR or LF (quotes doubled inside); records end with CRLF. The reader takes what
// the writer writes and what spreadsheets save (LF or CRLF line ends, a final line end or none, a
// UTF-8 byte order mark), and refuses what RFC 4180 does not allow (a quote inside an unquoted
// field, text after a closing quote, an unterminated quoted field), naming the line.
import { ValidationError } from './errors.js';

const NEEDS_QUOTES = /[",\r\n]/;

export function encodeCsvField(value: string): string {
  return NEEDS_QUOTES.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

/** Rows (the header first) as one CSV text, CRLF after every record. */
export function encodeCsv(rows: readonly (readonly string[])[]): string {
  let out = '';
  for (const row of rows) out += row.map(encodeCsvField).join(',') + '\r\n';
  return out;
}

/** The records of a CSV text; `field` names the input in errors (the request body). */
export function decodeCsv(text: string, field = 'body'): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let value = '';
  let line = 1;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  // At the start of a field: whether it is quoted decides how it ends.
  let fieldStart = true;
  const endField = () => {
    row.push(value);
    value = '';
    fieldStart = true;
  };
  const endRecord = () => {
    endField();
    rows.push(row);
    row = [];
    line++;
  };
  while (i < text.length) {
    const c = text[i]!;
    if (fieldStart && c === '"') {
      const startLine = line;
      i++;
      for (;;) {
        if (i >= text.length) throw new ValidationError(field, `CSV line ${startLine}: a quoted field is never closed`);
        const q = text[i]!;
        if (q === '"') {
          if (text[i + 1] === '"') {
            value += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        if (q === '\n') line++;
        value += q;
        i++;
      }
      const next = text[i];
      if (next !== undefined && next !== ',' && next !== '\r' && next !== '\n') {
        throw new ValidationError(field, `CSV line ${line}: text after a closing quote (a field with quotes must be quoted whole)`);
      }
      fieldStart = false;
      continue;
    }
    fieldStart = false;
    if (c === ',') {
      endField();
      i++;
    } else if (c === '\r' || c === '\n') {
      endRecord();
      i += c === '\r' && text[i + 1] === '\n' ? 2 : 1;
    } else if (c === '"') {
      throw new ValidationError(field, `CSV line ${line}: a quote inside an unquoted field (quote the field and double the quote)`);
    } else {
      value += c;
      i++;
    }
  }
  // A last record without a line end; a text that ends with one has nothing pending.
  if (!fieldStart || row.length > 0) endRecord();
  return rows;
}
