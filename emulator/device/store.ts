import { mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import path from 'node:path';
import { EmulatorError } from '../errors';
import type { Nvram } from './nvram';

/**
 * NVRAM persistence: one JSON file per device under `<stateDir>/devices/`. Every write goes to a
 * temporary file that is flushed and renamed over the old one, so a crash at any instant leaves
 * either the old or the new NVRAM, never a torn file.
 */
export function nvramPath(stateDir: string, uuid: string): string {
  return path.join(stateDir, 'devices', `${uuid}.json`);
}

export async function writeFileAtomic(file: string, data: string): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  const handle = await open(tmp, 'w');
  try {
    await handle.writeFile(data);
    await handle.datasync();
  } finally {
    await handle.close();
  }
  try {
    await rename(tmp, file);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
}

export async function loadNvram(stateDir: string, uuid: string): Promise<Nvram | null> {
  let text: string;
  try {
    text = await readFile(nvramPath(stateDir, uuid), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  try {
    const nvram = JSON.parse(text) as Nvram;
    if (nvram.schema !== 1 || nvram.uuid !== uuid) throw new Error('schema or uuid mismatch');
    return nvram;
  } catch (err) {
    throw new EmulatorError('NVRAM_CORRUPT', `NVRAM of device ${uuid} is unreadable`, { cause: err });
  }
}

/**
 * Serialises the writes of one device: a write requested while another is in flight is coalesced
 * into one more write of the then-current state, so the file always ends with the latest NVRAM and
 * callers awaiting `save()` know their change is on disk.
 */
export class NvramWriter {
  private inFlight: Promise<void> | null = null;
  private queued: Promise<void> | null = null;

  constructor(
    private readonly file: string,
    private readonly snapshot: () => Nvram,
  ) {}

  save(): Promise<void> {
    if (this.queued) return this.queued;
    if (!this.inFlight) {
      this.inFlight = this.write();
      return this.inFlight;
    }
    const after = this.inFlight
      .catch(() => undefined)
      .then(() => {
        this.queued = null;
        this.inFlight = this.write();
        return this.inFlight;
      });
    this.queued = after;
    return after;
  }

  async flush(): Promise<void> {
    await this.queued;
    await this.inFlight;
  }

  private async write(): Promise<void> {
    try {
      await writeFileAtomic(this.file, JSON.stringify(this.snapshot()));
    } finally {
      this.inFlight = null;
    }
  }
}
