// Object key prefixes of the data bucket and how long their objects live: one definition for
// the code that writes and signs them and for the bucket's lifecycle rules (infra/lib/stateful.ts).
export const bucketPrefixes = {
  /** Rendered client configs and QR PNGs, fetched through signed URLs minutes long. */
  downloads: { prefix: 'downloads/', expiresAfterDays: 1 },
  /** Desired peer set per gateway and generation, fetched by the apply document. */
  peerSets: { prefix: 'peer-sets/', expiresAfterDays: 7 },
  /**
   * The report document's output, written by the SSM agent with the gateway's own role and deleted
   * by the worker once read; the rule removes what a worker never read.
   */
  reports: { prefix: 'reports/', expiresAfterDays: 1 },
  /**
   * One status snapshot per gateway, rewritten at every report run (so never older than a run
   * while its gateway exists); the rule removes the snapshots of deleted gateways.
   */
  status: { prefix: 'status/', expiresAfterDays: 7 },
  /** Client exports too large for one answer, fetched through a signed URL minutes long. */
  exports: { prefix: 'exports/', expiresAfterDays: 1 },
} as const;

/** The one snapshot of a gateway's reports (functions/domain/gateway-report.ts StatusSnapshot). */
export function statusSnapshotKey(network: string, gatewayId: string): string {
  return `${bucketPrefixes.status.prefix}${network}/${gatewayId}.json`;
}

/** Where one run's report commands have their output written (SendCommand's OutputS3KeyPrefix). */
export function reportOutputPrefix(runStamp: string): string {
  return `${bucketPrefixes.reports.prefix}${runStamp}`;
}

/**
 * The key the SSM agent writes a command's stdout under, for a schema 2.2 document's
 * aws:runShellScript step: <prefix>/<commandId>/<instanceId>/awsrunShellScript/<step name>/stdout.
 */
export function reportStdoutKey(keyPrefix: string, commandId: string, instanceId: string, stepName: string): string {
  return `${keyPrefix}/${commandId}/${instanceId}/awsrunShellScript/${stepName}/stdout`;
}

/** The report document's one step (infra/ssm/documents.ts): its name is part of the output's key. */
export const REPORT_STEP_NAME = 'reportStatus';
