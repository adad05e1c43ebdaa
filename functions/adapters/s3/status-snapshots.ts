// The gateways' status snapshots (status/<network>/<gatewayId>.json) on S3. Written with the
// bucket's default encryption (the data key): they hold public keys, endpoints and counters, no
// secret. Reads are conditional on the ETag the caller has, so an unchanged snapshot costs a 304.
import { GetObjectCommand, NoSuchKey, PutObjectCommand, S3ServiceException, type S3Client } from '@aws-sdk/client-s3';
import type { StatusSnapshotStore } from '../../app/ports.js';
import type { StatusSnapshot } from '../../domain/gateway-report.js';
import { statusSnapshotKey } from '../../domain/object-keys.js';

const statusOf = (err: unknown): number | undefined => (err instanceof S3ServiceException ? err.$metadata.httpStatusCode : undefined);

export class S3StatusSnapshots implements StatusSnapshotStore {
  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
  ) {}

  async read(network: string, gatewayId: string, knownEtag?: string): Promise<{ etag: string; snapshot: StatusSnapshot } | 'unchanged' | undefined> {
    try {
      const out = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: statusSnapshotKey(network, gatewayId), ...(knownEtag ? { IfNoneMatch: knownEtag } : {}) }),
      );
      const text = out.Body ? await out.Body.transformToString('utf8') : '';
      return { etag: out.ETag ?? '', snapshot: JSON.parse(text) as StatusSnapshot };
    } catch (err) {
      if (err instanceof NoSuchKey || statusOf(err) === 404) return undefined;
      if (statusOf(err) === 304) return 'unchanged';
      throw err;
    }
  }

  async write(snapshot: StatusSnapshot): Promise<void> {
    const body = JSON.stringify(snapshot);
    await this.client.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: statusSnapshotKey(snapshot.network, snapshot.gatewayId),
        Body: body,
        ContentType: 'application/json',
        ContentLength: Buffer.byteLength(body),
      }),
    );
  }
}
