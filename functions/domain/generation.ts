// A gateway's desiredGeneration is a stamp, not a counter: every change writes a stamp larger than
// the current one, on the condition that it is larger, in the same transaction as the change. So
// stamps grow strictly in commit order, and a change knows its exact generation without reading
// the gateway first: "applied >= my generation" then means "my change was committed before the
// worker read the generation it applied", which is exactly "in effect".

/** Hundredths of a millisecond since the epoch: 15 digits until the year 2286 (GENERATION pattern). */
export function generationStamp(nowMs: number, floor = 0): number {
  return Math.max(Math.floor(nowMs) * 100, floor + 1);
}
