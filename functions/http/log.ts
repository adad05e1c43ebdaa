// One JSON line per event. Callers pass only non-secret fields: route templates (never raw paths,
// which may carry a link token), ids, statuses and timings.
export function log(level: 'info' | 'warn' | 'error', fields: Record<string, unknown>): void {
  if (process.env.WG_INGRESS_QUIET === '1' && level === 'info') return;
  const line = JSON.stringify({ level, time: new Date().toISOString(), ...fields });
  if (level === 'error') console.error(line);
  else console.log(line);
}
