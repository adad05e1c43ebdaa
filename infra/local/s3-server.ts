// The local S3-compatible server: @20minutes/s3rver 4.x, which verifies SigV4 signatures
// (header and presigned query) and the X-Amz-Expires of presigned URLs, behind one guard of ours.
//
// Why the guard: s3rver only checks a signature when a request carries one. A request with no
// Authorization header and no signature parameters is served as anonymous
// (lib/middleware/authentication.js: `if (mechanismCount === 0) return next()`), so stripping the
// query string off a signed URL would read the object, and an unsigned PUT would write one.
// Our bucket is private, as in AWS: anything not signed with SigV4 gets 403 AccessDenied here
// (SigV2 too, which S3 no longer accepts for new buckets and the SDK v3 never sends).
import { createRequire } from 'node:module';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import type { IncomingMessage, RequestListener, Server, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** s3rver's built-in account (lib/models/account.js: createKeyPair('S3RVER', 'S3RVER')). */
export const LOCAL_S3_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;
/** s3rver accepts any region in the credential scope; this one matches the SDK's default. */
export const LOCAL_S3_REGION = 'us-east-1';
export const DEFAULT_LOCAL_BUCKET = 'wg-ingress-local';

export interface LocalS3Options {
  /** 0 (the default) picks a free port. */
  port?: number;
  /** Where objects are kept; a fresh temp folder (removed by stop()) when left out. */
  directory?: string;
  bucket?: string;
}

export interface LocalS3Server {
  /** http://127.0.0.1:<port>; address buckets by path (forcePathStyle). */
  endpoint: string;
  port: number;
  bucket: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  directory: string;
  stop(): Promise<void>;
}

// The parts of s3rver's (untyped, CommonJS) API used here.
interface S3rverInstance {
  callback(): RequestListener;
  run(): Promise<{ port: number; address: string }>;
  close(): Promise<void>;
  httpServer?: Server;
}
type S3rverConstructor = new (options: Record<string, unknown>) => S3rverInstance;

const require = createRequire(import.meta.url);
const S3rver = require('@20minutes/s3rver') as S3rverConstructor;

type AuthMechanism = 'sigv4' | 'other' | 'none';

function authMechanism(req: IncomingMessage): AuthMechanism {
  const query = new URL(req.url ?? '/', 'http://local').searchParams;
  const authorization = req.headers.authorization;
  if (query.has('X-Amz-Algorithm') || query.has('X-Amz-Signature')) return 'sigv4';
  if (authorization !== undefined) return /^AWS4-HMAC-SHA256 /.test(authorization) ? 'sigv4' : 'other';
  if (query.has('Signature') || query.has('AWSAccessKeyId')) return 'other';
  return 'none';
}

function accessDenied(res: ServerResponse, message: string): void {
  const body =
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<Error><Code>AccessDenied</Code><Message>${message}</Message></Error>`;
  res.writeHead(403, { 'Content-Type': 'application/xml', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

class SignedOnlyS3rver extends S3rver {
  override callback(): RequestListener {
    const inner = super.callback();
    return (req, res) => {
      // CORS preflights carry no signature in S3 either; s3rver answers them from the CORS config.
      if (req.method === 'OPTIONS') return inner(req, res);
      const mechanism = authMechanism(req);
      if (mechanism === 'none') return accessDenied(res, 'Access Denied: the bucket is private; sign the request');
      if (mechanism === 'other') return accessDenied(res, 'Access Denied: only Signature Version 4 is accepted');
      return inner(req, res);
    };
  }
}

export async function startLocalS3Server(options: LocalS3Options = {}): Promise<LocalS3Server> {
  const bucket = options.bucket ?? DEFAULT_LOCAL_BUCKET;
  const ownsDirectory = options.directory === undefined;
  const directory = options.directory ?? mkdtempSync(join(tmpdir(), 'wg-ingress-s3-'));
  mkdirSync(directory, { recursive: true });

  const server = new SignedOnlyS3rver({
    address: '127.0.0.1',
    port: options.port ?? 0,
    directory,
    silent: true,
    // Path-style only: a browser on this machine opens http://127.0.0.1:<port>/<bucket>/<key>.
    vhostBuckets: false,
    allowMismatchedSignatures: false,
    resetOnClose: false,
    configureBuckets: [{ name: bucket, configs: [] }],
  });
  let address: { port: number };
  try {
    address = await server.run();
  } catch (err) {
    if (ownsDirectory) rmSync(directory, { recursive: true, force: true });
    throw err;
  }

  let stopped: Promise<void> | undefined;
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    port: address.port,
    bucket,
    region: LOCAL_S3_REGION,
    credentials: { ...LOCAL_S3_CREDENTIALS },
    directory,
    stop() {
      stopped ??= (async () => {
        const closing = server.close();
        // close() waits for keep-alive connections (fetch and the SDK keep them) to go idle.
        server.httpServer?.closeAllConnections();
        await closing;
        if (ownsDirectory) rmSync(directory, { recursive: true, force: true });
      })();
      return stopped;
    },
  };
}
