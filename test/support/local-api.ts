// Starts the local stack (DynamoDB Local, S3 server, the real handlers behind the local HTTP
// server) for one test file, and records every answer and log line so a suite can check that no
// secret ever left the system.
import { after, before } from 'node:test';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { localClient } from '../../infra/local/dynamodb.js';
import { startLocalStack, type LocalStack, type LocalStackOptions } from '../../infra/local/local-stack.js';

export interface ApiAnswer<T = any> {
  status: number;
  headers: Headers;
  text: string;
  json: T;
}

const answers: string[] = [];
/** Answers of POST …/links: the one place a link token is meant to appear (for the admin). */
const linkAnswers: string[] = [];
const logLines: string[] = [];
/** Everything written to stdout/stderr, test-runner messages included, for the leak check. */
const output: string[] = [];
const tokens = new Set<string>();
const seenSecrets = new Set<string>();

/** Writes to the real stderr (past the capture): what a failing test needs to show. */
let echo: ((text: string) => void) | undefined;

function captureLogs(): void {
  for (const stream of [process.stdout, process.stderr]) {
    const original = stream.write.bind(stream) as (chunk: unknown, ...rest: unknown[]) => boolean;
    if (stream === process.stderr) echo = (text) => void original(text);
    (stream as unknown as { write: unknown }).write = (chunk: unknown, ...rest: unknown[]) => {
      output.push(String(chunk));
      // Text is what loggers write; the test runner's own messages to its parent are binary.
      if (typeof chunk === 'string') logLines.push(...chunk.split('\n').filter((l) => l.trim() !== ''));
      // Handler log lines (Powertools JSON, EMF metrics) are kept for the checks, not echoed.
      if (typeof chunk === 'string' && isLogLine(chunk)) return true;
      return original(chunk, ...rest);
    };
  }
}

/** A line the handlers or the worker wrote: Powertools Logger JSON or an EMF metrics document. */
function isLogLine(chunk: string): boolean {
  if (!chunk.startsWith('{')) return false;
  try {
    const parsed = JSON.parse(chunk) as Record<string, unknown>;
    return 'level' in parsed || '_aws' in parsed;
  } catch {
    return false;
  }
}

export interface TestApi {
  stack: LocalStack;
  call<T = any>(method: string, path: string, body?: unknown, opts?: { token?: string | null; headers?: Record<string, string>; raw?: string }): Promise<ApiAnswer<T>>;
  /** Remember a link token so the leak check looks for it. */
  rememberToken(token: string): void;
  /** Every private/preshared key in the secrets table now or at an earlier snapshot, and every remembered token. */
  secrets(): Promise<string[]>;
  /** Remember the secrets that exist now, before a test deletes them. */
  snapshotSecrets(): Promise<void>;
  logs(): string[];
  answers(): string[];
}

export function useLocalApi(options: LocalStackOptions = {}): TestApi {
  let stack: LocalStack | undefined;
  before(async () => {
    captureLogs();
    stack = await startLocalStack({ port: 0, ...options });
  });
  after(async () => {
    try {
      // Every file that runs the stack checks, at its end, that no secret it made leaked into an
      // answer or a log line: together they cover the whole suite.
      if (stack) await assertNoSecretLeaked(api);
      assertLogLinesStructured(api);
    } finally {
      await stack?.stop();
    }
  });
  const api: TestApi = {
    get stack() {
      if (!stack) throw new Error('local stack not started');
      return stack;
    },
    async call(method, path, body, opts = {}) {
      const headers: Record<string, string> = { ...(opts.headers ?? {}) };
      const token = opts.token === undefined ? api.stack.adminToken : opts.token;
      if (token) headers.authorization = `Bearer ${token}`;
      let payload: string | undefined = opts.raw;
      if (body !== undefined) {
        payload = JSON.stringify(body);
        headers['content-type'] ??= 'application/json';
      }
      const res = await fetch(`${api.stack.url}${path}`, { method, headers, body: payload });
      const text = await res.text();
      if (res.status >= 500) {
        // A 500 answers "internal error" only: the error itself is in the handler's log line.
        const errors = logLines.filter((l) => l.includes('"level":"ERROR"')).slice(-3);
        echo?.(`# ${method} ${path} answered ${res.status}; the last error log lines:\n${errors.join('\n')}\n`);
      }
      if (method === 'POST' && /^\/networks\/[^/]+\/clients\/[^/]+\/links$/.test(path) && res.status === 201) linkAnswers.push(text);
      else answers.push(text);
      let json: any;
      try {
        json = text ? JSON.parse(text) : undefined;
      } catch {
        json = undefined;
      }
      return { status: res.status, headers: res.headers, text, json };
    },
    rememberToken(token) {
      tokens.add(token);
    },
    async secrets() {
      const client = localClient(api.stack.dynamoEndpoint, api.stack.dynamoCredentials);
      const found: string[] = [...tokens, ...seenSecrets];
      let start: Record<string, any> | undefined;
      do {
        const out = await client.send(new ScanCommand({ TableName: api.stack.secretsTableName, ExclusiveStartKey: start }));
        for (const raw of out.Items ?? []) {
          const item = unmarshall(raw);
          if (item.privateKey) found.push(item.privateKey);
          if (item.presharedKey) found.push(item.presharedKey);
        }
        start = out.LastEvaluatedKey;
      } while (start);
      client.destroy();
      for (const f of found) if (!tokens.has(f)) seenSecrets.add(f);
      return [...new Set(found)];
    },
    async snapshotSecrets() {
      await api.secrets();
    },
    logs: () => [...logLines],
    answers: () => [...answers],
  };
  return api;
}

/** Fails when any secret occurs in any recorded answer or log line. */
export async function assertNoSecretLeaked(api: TestApi): Promise<number> {
  for (const text of linkAnswers) {
    const keys = Object.keys(JSON.parse(text) as object).sort().join(',');
    if (keys !== 'expiresAt,url') throw new Error(`a link answer carries more than the link: ${keys}`);
  }
  const secrets = await api.secrets();
  const haystacks = [...api.answers(), ...output];
  for (const secret of secrets) {
    for (const h of haystacks) {
      // The report itself must not spread the secret: it shows where, with the secret blanked out.
      if (h.includes(secret)) throw new Error(`a secret leaked into: ${h.split(secret).join('<SECRET>').slice(0, 200)}`);
    }
  }
  return secrets.length;
}

/**
 * Every line the handlers, the worker and local mode wrote is one JSON object that carries the
 * request id of its invocation: Powertools Logger lines (`function_request_id`) and EMF metric
 * documents (`request_id` metadata).
 */
export function assertLogLinesStructured(api: TestApi): number {
  // '# …' lines are the tests' own measurement notes (as TAP writes diagnostics), not log lines.
  const lines = api.logs().filter((l) => !l.startsWith('# '));
  for (const line of lines) {
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(line) as Record<string, unknown>;
    } catch {
      throw new Error(`a log line is not JSON: ${line.slice(0, 200)}`);
    }
    const id = parsed.function_request_id ?? parsed.request_id;
    if (typeof id !== 'string' || id === '') throw new Error(`a log line carries no request id: ${line.slice(0, 300)}`);
  }
  return lines.length;
}
