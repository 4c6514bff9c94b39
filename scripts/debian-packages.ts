/**
 * The Debian packages amtflow's scripts need, read from the one list (scripts/debian-packages.list),
 * and their installation when missing: `apt-get install --no-install-recommends` as root; otherwise
 * one line naming the missing packages and the command that installs them.
 *
 * `tsx scripts/debian-packages.ts ensure [--for <command>] [component...]` installs what is missing
 * and prints the packages it installed; `list [--for <command>] [component...]` prints the packages,
 * one a line (scripts/fresh-machine-check.sh purges them).
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { Command } from 'commander';

const run = promisify(execFile);

export const PACKAGE_LIST = path.resolve(__dirname, 'debian-packages.list');

export interface Component {
  name: string;
  /** The commands that install it (`start`, `test`). */
  neededBy: string[];
  packages: string[];
}

export type DebianPackagesErrorCode = 'DEBIAN_PACKAGES_MISSING' | 'UNKNOWN_COMPONENT' | 'PACKAGE_LIST_INVALID';

/** A package problem the operator solves: the message says exactly what to run. */
export class DebianPackagesError extends Error {
  override readonly name = 'DebianPackagesError';
  constructor(
    readonly code: DebianPackagesErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** Parses the list: `<component> <command,command> <package>...` per line, `#` comments. */
export function readComponents(file = PACKAGE_LIST): Component[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .map((line, i) => ({ fields: line.replace(/#.*/, '').trim().split(/\s+/).filter(Boolean), lineNo: i + 1 }))
    .filter(({ fields }) => fields.length > 0)
    .map(({ fields, lineNo }) => {
      const [name, neededBy, ...packages] = fields;
      if (!name || !neededBy || packages.length === 0 || !packages.every((p) => /^[a-z0-9][a-z0-9+.-]+$/.test(p))) {
        throw new DebianPackagesError(
          'PACKAGE_LIST_INVALID',
          `${file}:${lineNo}: expected "<component> <commands> <package>..." with Debian package names`,
        );
      }
      return { name, neededBy: neededBy.split(','), packages };
    });
}

export interface Selection {
  /** Components by name. */
  components?: string[];
  /** Every component this command needs (`start`, `test`). */
  neededBy?: string;
  file?: string;
}

/** The packages of the selected components (all of them when nothing is selected), in list order. */
export function selectPackages(selection: Selection = {}): string[] {
  const all = readComponents(selection.file);
  const unknown = (selection.components ?? []).filter((name) => !all.some((c) => c.name === name));
  if (unknown.length > 0) {
    throw new DebianPackagesError(
      'UNKNOWN_COMPONENT',
      `no component ${unknown.join(', ')} in ${selection.file ?? PACKAGE_LIST} (known: ${all.map((c) => c.name).join(', ')})`,
    );
  }
  const chosen = all.filter(
    (c) =>
      (selection.components === undefined && selection.neededBy === undefined) ||
      selection.components?.includes(c.name) ||
      (selection.neededBy !== undefined && c.neededBy.includes(selection.neededBy)),
  );
  return [...new Set(chosen.flatMap((c) => c.packages))];
}

async function isInstalled(pkg: string): Promise<boolean> {
  try {
    const { stdout } = await run('dpkg-query', ['-W', '-f=${db:Status-Status}', pkg]);
    return stdout.trim() === 'installed';
  } catch {
    return false;
  }
}

export async function missingPackages(packages: string[]): Promise<string[]> {
  const installed = await Promise.all(packages.map(isInstalled));
  return packages.filter((_, i) => !installed[i]);
}

/**
 * Installs the selected packages that are missing and returns them. `apt-get update` runs first
 * (a fresh machine has no package lists), and apt waits for a lock another apt holds.
 */
export async function ensureDebianPackages(
  selection: Selection,
  log: (line: string) => void = () => undefined,
): Promise<string[]> {
  const missing = await missingPackages(selectPackages(selection));
  if (missing.length === 0) return [];
  const command = `apt-get install --no-install-recommends ${missing.join(' ')}`;
  if (process.getuid?.() !== 0) {
    throw new DebianPackagesError(
      'DEBIAN_PACKAGES_MISSING',
      `missing Debian packages ${missing.join(' ')}: run as root, or install them with: ` +
        `sudo apt-get update && sudo ${command}`,
    );
  }
  log(`installing Debian packages: ${missing.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const lock = ['-o', 'DPkg::Lock::Timeout=300'];
  try {
    await run('apt-get', [...lock, 'update', '-qq'], { env, maxBuffer: 16 * 1024 * 1024 });
    await run('apt-get', [...lock, 'install', '-y', '-qq', '--no-install-recommends', ...missing], {
      env,
      maxBuffer: 64 * 1024 * 1024,
    });
  } catch (err) {
    const { stderr = '' } = err as { stderr?: string };
    throw new Error(`${command} failed: ${stderr.trim() || (err as Error).message}`);
  }
  return missing;
}

if (require.main === module) {
  const program = new Command('debian-packages').description("the Debian packages amtflow's scripts install");
  const selected = (components: string[], o: { for?: string; list?: string }): Selection => ({
    ...(components.length > 0 ? { components } : {}),
    ...(o.for ? { neededBy: o.for } : {}),
    ...(o.list ? { file: o.list } : {}),
  });
  program
    .command('ensure [components...]')
    .description('install the missing packages of these components (every component without arguments)')
    .option('--for <command>', 'every component this command needs (start, test)')
    .option('--list <file>', 'another package list', PACKAGE_LIST)
    .action(async (components: string[], o: { for?: string; list?: string }) => {
      const installed = await ensureDebianPackages(selected(components, o), (line) =>
        console.error(`[amtflow] ${line}`),
      );
      if (installed.length > 0) console.log(installed.join(' '));
    });
  program
    .command('list [components...]')
    .description('print the packages of these components, one a line (every component without arguments)')
    .option('--for <command>', 'every component this command needs (start, test)')
    .option('--list <file>', 'another package list', PACKAGE_LIST)
    .action((components: string[], o: { for?: string; list?: string }) => {
      for (const pkg of selectPackages(selected(components, o))) console.log(pkg);
    });
  program.parseAsync().catch((err: unknown) => {
    console.error(`[amtflow] ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}
