import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DebianPackagesError, readComponents, selectPackages } from '../../../scripts/debian-packages';

const root = path.resolve(__dirname, '..', '..', '..');

describe('the one list of Debian packages', () => {
  it('names every component with the commands that install it, and what the DC needs without Recommends', () => {
    const components = Object.fromEntries(readComponents().map((c) => [c.name, c]));
    expect(Object.keys(components)).toEqual(['samba-dc', 'postgresql', 'amtterm', 'openssl', 'chromium']);
    expect(components['samba-dc']?.neededBy).toEqual(['start', 'test']);
    // Recommended by samba, needed by `samba-tool domain provision`: apt without Recommends skips them.
    expect(components['samba-dc']?.packages).toEqual(
      expect.arrayContaining(['samba', 'samba-ad-provision', 'samba-dsdb-modules', 'samba-vfs-modules']),
    );
    expect(selectPackages({ neededBy: 'start' })).not.toContain('postgresql');
    expect(selectPackages({ neededBy: 'test' })).toEqual(selectPackages());
  });

  it('refuses an unknown component by name', () => {
    const err = (() => {
      try {
        selectPackages({ components: ['samba-dc', 'chromeium'] });
      } catch (e) {
        return e as DebianPackagesError;
      }
    })();
    expect(err).toBeInstanceOf(DebianPackagesError);
    expect(err?.code).toBe('UNKNOWN_COMPONENT');
    expect(err?.message).toMatch(/no component chromeium .*known: samba-dc, postgresql, amtterm, openssl, chromium/);
  });

  it('refuses a malformed line with its file and line number', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'amtflow-list-'));
    try {
      writeFileSync(path.join(dir, 'list'), '# comment\nsamba-dc start samba\npostgresql test\n');
      expect(() => readComponents(path.join(dir, 'list'))).toThrow(
        /list:3: expected "<component> <commands> <package>/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('not as root, prints one line naming only the missing packages and the command, and exits non-zero', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'amtflow-list-'));
    const list = path.join(dir, 'list');
    // dpkg itself is installed on every Debian machine; the other package exists nowhere.
    writeFileSync(list, 'demo test dpkg amtflow-absent-package\n');
    try {
      const command = [process.execPath, '--import', 'tsx', 'scripts/debian-packages.ts', 'ensure', '--for', 'test'];
      // As root, in a user namespace of its own: not root there, yet the owner of the checkout's files.
      const [program, ...args] = process.getuid?.() === 0 ? ['unshare', '--user', ...command] : command;
      const result = spawnSync(program as string, [...args, '--list', list], {
        cwd: root,
        env: { PATH: process.env.PATH, HOME: dir },
        encoding: 'utf8',
      });
      expect(result.status).toBe(1);
      expect(result.stdout).toBe('');
      expect(result.stderr.trim().split('\n')).toEqual([
        '[amtflow] missing Debian packages amtflow-absent-package: run as root, or install them with: ' +
          'sudo apt-get update && sudo apt-get install --no-install-recommends amtflow-absent-package',
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
