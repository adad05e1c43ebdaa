// Peer sets as the apply document reaches them: an object in a bucket, named by bucket and key.
// For the suites that drive the local runner (or the apply script) without the local stack: the
// runner's download step reads from here, as it reads the local S3 server in local mode.
import type { ObjectReader } from '../../infra/local/gateway-runner.js';

export class PeerSetObjects {
  readonly bucket = 'wg-ingress-test';
  readonly objects = new Map<string, Buffer>();
  private n = 0;

  /** The runner's `objects` option. */
  readonly reader: ObjectReader = async (bucket, key) => {
    const body = bucket === this.bucket ? this.objects.get(key) : undefined;
    return body && Buffer.from(body);
  };

  /** Stores a peer set under a fresh key (the worker's naming) and answers the apply input's location fields. */
  put(text: string | Buffer, generation: number, where: { network?: string; gatewayId?: string } = {}): { peerSetBucket: string; peerSetKey: string } {
    const suffix = (this.n++).toString(16).padStart(16, '0');
    const key = `peer-sets/${where.network ?? 'n'}/${where.gatewayId ?? 'gw-aaaaaaaaaa'}/${generation}-${suffix}.conf`;
    this.objects.set(key, Buffer.from(text));
    return { peerSetBucket: this.bucket, peerSetKey: key };
  }
}
