// Level-of-detail selection with hysteresis: an object switches to a
// coarser level only once it is `h/2` beyond a threshold and back only once
// it is `h/2` inside it, so one standing on a border does not flicker.

export type Level = 0 | 1 | 2;

export function lodLevel(current: number, dist: number, thresholds: readonly [number, number], h: number): Level {
  let lvl = Math.max(0, Math.min(2, current | 0));
  while (lvl < 2 && dist > thresholds[lvl as 0 | 1] + h / 2) lvl++;
  while (lvl > 0 && dist < thresholds[(lvl - 1) as 0 | 1] - h / 2) lvl--;
  return lvl as Level;
}
