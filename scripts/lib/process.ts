/** Process plumbing shared by the scripts that run servers beside amtflow (Temporal, Samba). */

/** Polls a condition until it holds or the deadline passes: the only way scripts and tests wait. */
export async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs: number,
  intervalMs = 250,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** SIGTERM, then SIGKILL after the grace period; resolves once the process is gone. */
export async function terminate(pid: number, what: string, graceMs = 15_000): Promise<boolean> {
  if (!isAlive(pid)) return false;
  process.kill(pid, 'SIGTERM');
  try {
    await waitFor(`${what} (pid ${pid}) to exit`, async () => !isAlive(pid), graceMs, 100);
  } catch {
    process.kill(pid, 'SIGKILL');
    await waitFor(`${what} (pid ${pid}) to die`, async () => !isAlive(pid), 5_000, 100);
  }
  return true;
}
