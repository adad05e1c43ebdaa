// Waiting for what the stack does in the background (the worker, the report schedule): read
// again every 50 ms until the value is as expected, or fail naming what was awaited and the
// last value read (after 30 s unless told otherwise: a slow CI machine, not a hang).

export async function until<T>(what: string, read: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    if (ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(v).slice(0, 500)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
