// Reconnect delays with "full jitter" (AWS architecture blog): a uniform
// random delay between 0 and an exponentially growing ceiling, so a room
// full of clients dropped by the same restart does not reconnect in step.

export interface BackoffOptions {
  /** ceiling of the first retry, ms (the first retry comes within it) */
  baseMs: number;
  /** largest ceiling, ms */
  capMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 1000, capMs: 8000 };

/** ceiling returns the upper bound of the delay before retry number attempt (1-based). */
export function ceiling(attempt: number, o: BackoffOptions = DEFAULT_BACKOFF): number {
  const n = Math.max(1, Math.floor(attempt));
  // 2^(n-1) overflows to Infinity long after it passes the cap; min keeps it finite.
  return Math.min(o.capMs, o.baseMs * 2 ** Math.min(n - 1, 30));
}

/** delay returns the wait before retry number attempt (1-based); random is in [0, 1). */
export function delay(attempt: number, random: () => number = Math.random, o: BackoffOptions = DEFAULT_BACKOFF): number {
  const r = Math.min(Math.max(random(), 0), 0.999999);
  return Math.floor(r * ceiling(attempt, o));
}
