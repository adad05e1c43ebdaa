// Objects (rendered configs, QR PNGs, desired peer sets) behind a small interface, with an S3
// implementation. The client and the bucket are injected: no process.env here.
import {
  DeleteObjectCommand,
  GetObjectCommand,
  NoSuchKey,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';

export interface SignedGetUrlOptions {
  expiresInSeconds: number;
  /** Sent back as the response's Content-Disposition, e.g. attachmentDisposition('hq-alice.conf'). */
  contentDisposition?: string;
  /** Sent back as the response's Content-Type, whatever the object was stored with. */
  contentType?: string;
  /** Sent back as the response's Cache-Control (secrets in a config: 'no-store'). */
  cacheControl?: string;
}

export interface ObjectStore {
  putObject(key: string, body: Uint8Array | string, contentType: string): Promise<void>;
  /** The object's bytes, or undefined when there is no such object. */
  getObject(key: string): Promise<Buffer | undefined>;
  /** Deleting an object that does not exist is not an error (S3 answers 204 either way). */
  deleteObject(key: string): Promise<void>;
  signedGetUrl(key: string, options: SignedGetUrlOptions): Promise<string>;
}

// SigV4 presigned URLs cannot outlive a week; links handed to users last minutes.
export const MAX_SIGNED_URL_SECONDS = 7 * 24 * 3600;

const SAFE_FILENAME = /^[a-zA-Z0-9_=+.-]{1,64}$/;

/**
 * `attachment; filename="<name>"` for a name that needs neither escaping nor RFC 5987 encoding,
 * so every browser saves the file under exactly that name.
 */
export function attachmentDisposition(filename: string): string {
  if (!SAFE_FILENAME.test(filename) || filename.startsWith('.')) {
    throw new Error(`unsafe download filename: ${JSON.stringify(filename)}`);
  }
  return `attachment; filename="${filename}"`;
}

// Object keys are built from validated names; refusing anything else keeps a stray '..', a
// control character or a leading '/' from ever addressing a different object.
const SAFE_KEY = /^[a-zA-Z0-9!_.*'()=+-]+(?:\/[a-zA-Z0-9!_.*'()=+-]+)*$/;

function checkKey(key: string): string {
  if (typeof key !== 'string' || key.length > 1024 || !SAFE_KEY.test(key) || key.split('/').some((p) => p === '.' || p === '..')) {
    throw new Error(`unsafe object key: ${JSON.stringify(key)}`);
  }
  return key;
}

export interface S3ClientOptions {
  region: string;
  /** A local S3-compatible server; leave out for AWS. */
  endpoint?: string;
  /** Local servers address buckets by path: http://127.0.0.1:port/<bucket>/<key>. */
  forcePathStyle?: boolean;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
}

/** Create once per process (module scope of a handler) and inject it. */
export function createS3Client(options: S3ClientOptions): S3Client {
  return new S3Client({
    region: options.region,
    ...(options.endpoint !== undefined ? { endpoint: options.endpoint } : {}),
    ...(options.forcePathStyle !== undefined ? { forcePathStyle: options.forcePathStyle } : {}),
    ...(options.credentials !== undefined ? { credentials: options.credentials } : {}),
  });
}

export class S3ObjectStore implements ObjectStore {
  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
  ) {}

  async putObject(key: string, body: Uint8Array | string, contentType: string): Promise<void> {
    await this.client.send(
      new PutObjectCommand({ Bucket: this.bucket, Key: checkKey(key), Body: body, ContentType: contentType }),
    );
  }

  async getObject(key: string): Promise<Buffer | undefined> {
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: checkKey(key) }));
      if (!out.Body) return Buffer.alloc(0);
      return Buffer.from(await out.Body.transformToByteArray());
    } catch (err) {
      if (err instanceof NoSuchKey) return undefined;
      if (err instanceof S3ServiceException && err.$metadata.httpStatusCode === 404) return undefined;
      throw err;
    }
  }

  async deleteObject(key: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: checkKey(key) }));
  }

  async signedGetUrl(key: string, options: SignedGetUrlOptions): Promise<string> {
    const { expiresInSeconds } = options;
    if (!Number.isInteger(expiresInSeconds) || expiresInSeconds < 1 || expiresInSeconds > MAX_SIGNED_URL_SECONDS) {
      throw new Error(`expiresInSeconds must be an integer in 1..${MAX_SIGNED_URL_SECONDS}`);
    }
    const command = new GetObjectCommand({
      Bucket: this.bucket,
      Key: checkKey(key),
      ...(options.contentDisposition !== undefined ? { ResponseContentDisposition: options.contentDisposition } : {}),
      ...(options.contentType !== undefined ? { ResponseContentType: options.contentType } : {}),
      ...(options.cacheControl !== undefined ? { ResponseCacheControl: options.cacheControl } : {}),
    });
    return getSignedUrl(this.client, command, { expiresIn: expiresInSeconds });
  }
}
