// A gateway's desiredGeneration is a stamp, not a counter: every change writes a stamp larger than
// the current one, on the condition that it is larger, in the same transaction as the change. So
// stamps grow strictly in commit order, and a change knows its exact generation without reading
// the gateway first: "applied >= my generation" then means "my change was committed before the
// worker read the generation it applied", which is exactly "in effect".

/** Hundredths of a millisecond since the epoch: 15 digits until the year 2286 (GENERATION pattern). */
export function generationStamp(nowMs: number, floor = 0): number {
  return Math.max(Math.floor(nowMs) * 100, floor + 1);
}

/**
 * Stamps for changes made by this process: never two alike, and in the order they were made.
 * Two changes of one gateway stamped in the same millisecond would otherwise collide (the second
 * loses its condition and retries); across processes, the random hundredths make ties rare.
 */
export function createStamper(random: () => number = Math.random) {
  let last = 0;
  return (nowMs: number, floor = 0): number => {
    const stamp = Math.max(generationStamp(nowMs, floor) + Math.floor(random() * 100), floor + 1, last + 1);
    last = stamp;
    return stamp;
  };
}
