// The object store (rendered configs, QR PNGs, desired peer sets) on S3. The client and the bucket are injected: no process.env here.
import {
  DeleteObjectCommand,
  GetObjectCommand,
  NoSuchKey,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { ObjectStore, SignedGetUrlOptions } from '../../app/ports.js';
import { translateSdkErrors, throttlingAs } from '../sdk-errors.js';
import { ThrottledError } from '../../domain/errors.js';

// SigV4 presigned URLs cannot outlive a week; links handed to users last minutes.
export const MAX_SIGNED_URL_SECONDS = 7 * 24 * 3600;

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
  /** Wraps the client once it is built (the composition root's tracing). */
  instrument?: (client: S3Client) => S3Client;
}

/** Create once per process (module scope of a handler) and inject it. */
export function createS3Client(options: S3ClientOptions): S3Client {
  const client = new S3Client({
    region: options.region,
    ...(options.endpoint !== undefined ? { endpoint: options.endpoint } : {}),
    ...(options.forcePathStyle !== undefined ? { forcePathStyle: options.forcePathStyle } : {}),
    ...(options.credentials !== undefined ? { credentials: options.credentials } : {}),
  });
  translateSdkErrors(client, throttlingAs(['SlowDown'], () => new ThrottledError()));
  return options.instrument ? options.instrument(client) : client;
}

export interface S3ObjectStoreOptions {
  /**
   * KMS key every object is written with (SSE-KMS): the secrets key in AWS, since rendered configs
   * and peer sets hold private and preshared keys. No S3 Bucket Key, so the encryption context is
   * the object's ARN and a key policy or grant can be limited to a prefix. Left out locally.
   */
  kmsKeyId?: string;
}

export class S3ObjectStore implements ObjectStore {
  constructor(
    private readonly client: S3Client,
    readonly bucket: string,
    private readonly options: S3ObjectStoreOptions = {},
  ) {}

  async putObject(key: string, body: Uint8Array | string, contentType: string): Promise<void> {
    const { kmsKeyId } = this.options;
    await this.client.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: checkKey(key),
        Body: body,
        ContentType: contentType,
        // The length up front: without it the SDK streams the body in chunks and warns about it.
        ContentLength: Buffer.byteLength(body),
        ...(kmsKeyId !== undefined ? { ServerSideEncryption: 'aws:kms', SSEKMSKeyId: kmsKeyId, BucketKeyEnabled: false } : {}),
      }),
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
