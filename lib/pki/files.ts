import { randomBytes } from 'node:crypto';
import {
  closeSync,
  fsyncSync,
  linkSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import path from 'node:path';

/** Writes a sibling temporary file and flushes it, so that what gets linked or renamed is complete. */
function writeTemp(file: string, data: string | Buffer, mode: number): string {
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const temp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  const fd = openSync(temp, 'wx', mode);
  try {
    writeSync(fd, Buffer.from(data));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return temp;
}

/** The directory entry itself must reach the disk too, or a crash can forget the new name. */
function syncDirectory(file: string): void {
  const fd = openSync(path.dirname(file), 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Replaces `file` atomically: readers see the old content or the new, never a part. Files are
 * private (0600) unless said otherwise; certificates and CRLs are public (0644).
 */
export function writeFileAtomic(file: string, data: string | Buffer, mode = 0o600): void {
  const temp = writeTemp(file, data, mode);
  try {
    renameSync(temp, file);
  } catch (err) {
    rmSync(temp, { force: true });
    throw err;
  }
  syncDirectory(file);
}

/**
 * Creates `file` with `data` only if it does not exist, atomically. Two processes creating the CA
 * at once both get here; link() lets exactly one win, and the other reads the winner's file.
 * Returns false when the file already existed.
 */
export function createFileOnce(file: string, data: string | Buffer): boolean {
  const temp = writeTemp(file, data, 0o600);
  try {
    linkSync(temp, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    rmSync(temp, { force: true });
  }
  syncDirectory(file);
  return true;
}

export function readIfExists(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}
