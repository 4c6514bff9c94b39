/** Process plumbing shared by the scripts that run servers beside amtflow (Temporal, Samba). */
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';

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

/**
 * Who starts the servers amtflow runs beside itself. `npm start` stops at Ctrl-C the servers an
 * `npm start` started, this one or an earlier one that was killed; a server started by hand is left
 * running for whoever started it.
 */
export const STARTED_BY = { npmStart: 'npm start', byHand: 'by hand', tests: 'npm test' } as const;
export type StartedBy = (typeof STARTED_BY)[keyof typeof STARTED_BY];

/**
 * A pid file: the server's pid, who started it and where it listens (a bare pid, written by older
 * runs, has neither).
 */
export interface PidRecord {
  pid: number;
  startedBy?: StartedBy;
  address?: string;
}

export function writePidFile(file: string, record: PidRecord & { startedBy: StartedBy }): void {
  // Renamed into place: a reader never sees half a record.
  writeFileSync(`${file}.tmp`, JSON.stringify(record));
  renameSync(`${file}.tmp`, file);
}

export function readPidFile(file: string): PidRecord | undefined {
  if (!existsSync(file)) return undefined;
  const text = readFileSync(file, 'utf8').trim();
  let record: PidRecord;
  try {
    record = /^\d+$/.test(text) ? { pid: Number(text) } : (JSON.parse(text) as PidRecord);
  } catch {
    return undefined;
  }
  if (!Number.isInteger(record.pid) || record.pid <= 0) return undefined;
  const startedBy = Object.values(STARTED_BY).find((s) => s === record.startedBy);
  return {
    pid: record.pid,
    ...(startedBy ? { startedBy } : {}),
    ...(typeof record.address === 'string' ? { address: record.address } : {}),
  };
}

/** The state directory already belongs to another live process. */
export class StateDirectoryBusyError extends Error {
  override readonly name = 'StateDirectoryBusyError';
  readonly code = 'STATE_DIRECTORY_BUSY';
}

/**
 * Claims a pid file for this process: created if absent, taken over if its process is gone (killed),
 * refused with STATE_DIRECTORY_BUSY while it lives. Returns the function that gives it back.
 */
export function claimPidFile(file: string, startedBy: StartedBy, what: string): () => void {
  for (;;) {
    try {
      writeFileSync(file, JSON.stringify({ pid: process.pid, startedBy }), { flag: 'wx' });
      return () => {
        if (readPidFile(file)?.pid === process.pid) rmSync(file, { force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const owner = readPidFile(file);
    if (owner && owner.pid !== process.pid && isAlive(owner.pid)) {
      throw new StateDirectoryBusyError(`${what} (pid ${owner.pid}) already runs on this state directory (${file})`);
    }
    rmSync(file, { force: true });
  }
}
