// Object key prefixes of the data bucket and how long their objects live: one definition for
// the code that writes and signs them and for the bucket's lifecycle rules (infra/lib/stateful.ts).
export const bucketPrefixes = {
  /** Rendered client configs and QR PNGs, fetched through signed URLs minutes long. */
  downloads: { prefix: 'downloads/', expiresAfterDays: 1 },
  /** Desired peer set per gateway and generation, fetched by the apply document. */
  peerSets: { prefix: 'peer-sets/', expiresAfterDays: 7 },
  /** Client exports too large for one answer, fetched through a signed URL minutes long. */
  exports: { prefix: 'exports/', expiresAfterDays: 1 },
} as const;
