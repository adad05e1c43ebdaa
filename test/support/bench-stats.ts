// The benches' small statistics, shared by the part files.

/** The q-quantile (nearest rank) of xs. */
export const quantile = (xs: number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!;
};

export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

export const ms = (x: number): number => Math.round(x);

export const sleep = (milliseconds: number) => new Promise((r) => setTimeout(r, milliseconds));
