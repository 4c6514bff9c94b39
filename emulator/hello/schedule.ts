/**
 * Spec OOB1: a hello once a minute for the first 5 minutes, then every 5 minutes until the first
 * hour is over, then once an hour for 23 more hours; then the window closes. Offsets in seconds
 * from power-up (or from a local START_CONFIGURATION).
 */
export function helloSchedule(): number[] {
  const offsets: number[] = [];
  for (let m = 0; m < 5; m++) offsets.push(m * 60);
  for (let m = 5; m <= 60; m += 5) offsets.push(m * 60);
  for (let h = 2; h <= 24; h++) offsets.push(h * 3600);
  return offsets;
}
