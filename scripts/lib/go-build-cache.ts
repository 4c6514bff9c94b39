/**
 * Go programs built from a pinned module version once per machine, into a cache outside the
 * checkout: `<cacheRoot>/<name>/<version>/` (cacheRoot is `$AMTFLOW_CACHE_DIR`, else
 * `$XDG_CACHE_HOME/amtflow`, else `~/.cache/amtflow`). An entry holds `bin/<binary>`, optional
 * files copied from the module itself (`module/<path>`), and `manifest.json` with the size and
 * SHA-256 of every file.
 *
 * A build goes to a temporary sibling directory, gets its manifest last, and is renamed into
 * place, so an entry is either complete or absent. An entry whose manifest is missing or whose
 * files do not match it (a partial copy, a truncated or altered binary) is removed and rebuilt.
 * Concurrent callers on one machine build once: a lock directory names its owner's pid, and a
 * lock whose owner is gone is taken over.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { chmod, copyFile, mkdir, mkdtemp, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

import { isAlive, waitFor } from './process';

const run = promisify(execFile);

export interface GoProgram {
  /** File name of the binary in the entry's `bin/`, e.g. `temporal-server`. */
  binary: string;
  /** Import path of the main package, e.g. `go.temporal.io/server/cmd/server`. */
  package: string;
}

export interface GoBuildSpec {
  /** Cache entry name, e.g. `temporal-server`. */
  name: string;
  /** Module path, e.g. `go.temporal.io/server`. */
  module: string;
  /** Module version without the leading `v`, e.g. `1.32.1`. */
  version: string;
  programs: GoProgram[];
  ldflags?: string;
  /** Directories of the module (relative to its root) copied into the entry under `module/`. */
  moduleDirs?: string[];
  /** Arguments that make every binary print its version (checked against `version` after a build). */
  versionArgs?: string[];
}

export interface GoBuildEntry {
  dir: string;
  /** Absolute path of each binary, by `GoProgram.binary`. */
  binaries: Record<string, string>;
  /** Where `moduleDirs` were copied: `path.join(moduleDir, 'schema/...')`. */
  moduleDir: string;
  /** True when this call built the entry; false when a valid one was already there. */
  built: boolean;
  manifest: GoBuildManifest;
}

export interface GoBuildManifest {
  module: string;
  version: string;
  goVersion: string;
  builtAt: string;
  buildSeconds: number;
  /** Size and SHA-256 of every file, by path relative to the entry. */
  files: Record<string, { size: number; sha256: string }>;
}

export interface GoBuildOptions {
  /** Defaults to `goCacheRoot(env)`. */
  cacheRoot?: string;
  env?: NodeJS.ProcessEnv;
  log?: (line: string) => void;
  /** How long to wait for another process's build of the same entry (default 60 min). */
  lockTimeoutMs?: number;
}

/** No Go toolchain, or one older than the module requires: the message says what to install. */
export class GoToolchainError extends Error {
  override readonly name = 'GoToolchainError';
  readonly code = 'GO_TOOLCHAIN_UNUSABLE';
}

/** `go mod download` or `go install` failed, or a built binary reports another version. */
export class GoBuildError extends Error {
  override readonly name = 'GoBuildError';
  readonly code = 'GO_BUILD_FAILED';
}

const MANIFEST = 'manifest.json';

export function goCacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  if (env.AMTFLOW_CACHE_DIR) return path.resolve(env.AMTFLOW_CACHE_DIR);
  return path.join(env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'amtflow');
}

export function entryDir(spec: Pick<GoBuildSpec, 'name' | 'version'>, cacheRoot: string): string {
  return path.join(cacheRoot, spec.name, spec.version);
}

/**
 * Returns the cached build of `spec`, building it first when it is absent or does not match its
 * manifest. Needs Go (on PATH or in /usr/local/go) and the Go module proxy only to build.
 */
export async function ensureGoBuild(spec: GoBuildSpec, options: GoBuildOptions = {}): Promise<GoBuildEntry> {
  const env = options.env ?? process.env;
  const cacheRoot = options.cacheRoot ?? goCacheRoot(env);
  const log = options.log ?? (() => undefined);
  const dir = entryDir(spec, cacheRoot);

  const existing = await verifyEntry(spec, dir);
  if (existing) return entry(spec, dir, existing, false);

  const lock = `${dir}.lock`;
  await mkdir(path.dirname(dir), { recursive: true });
  const builtElsewhere = () => verifyEntry(spec, dir);
  const lockResult = await acquireLock(lock, options.lockTimeoutMs ?? 60 * 60_000, builtElsewhere);
  if (lockResult !== 'acquired') return entry(spec, dir, lockResult, false);
  try {
    // Another process may have finished the build just before this one took the lock.
    const built = await verifyEntry(spec, dir);
    if (built) return entry(spec, dir, built, false);
    if (existsSync(dir)) {
      log(`${dir} is incomplete or altered: removing it and building again`);
      await rm(dir, { recursive: true, force: true });
    }
    await removeAbandonedBuilds(dir);
    const manifest = await build(spec, dir, env, log);
    return entry(spec, dir, manifest, true);
  } finally {
    await rm(lock, { recursive: true, force: true });
  }
}

function entry(spec: GoBuildSpec, dir: string, manifest: GoBuildManifest, built: boolean): GoBuildEntry {
  const binaries = Object.fromEntries(spec.programs.map((p) => [p.binary, path.join(dir, 'bin', p.binary)]));
  return { dir, binaries, moduleDir: path.join(dir, 'module'), built, manifest };
}

/** The entry's manifest when every file it lists, and every binary of the spec, matches it. */
export async function verifyEntry(spec: GoBuildSpec, dir: string): Promise<GoBuildManifest | undefined> {
  let manifest: GoBuildManifest;
  try {
    manifest = JSON.parse(await readFile(path.join(dir, MANIFEST), 'utf8')) as GoBuildManifest;
  } catch {
    return undefined;
  }
  if (manifest.module !== spec.module || manifest.version !== spec.version) return undefined;
  const binaries = spec.programs.map((p) => `bin/${p.binary}`);
  if (!binaries.every((b) => manifest.files?.[b])) return undefined;
  for (const [file, expected] of Object.entries(manifest.files)) {
    const full = path.join(dir, file);
    const size = await stat(full).then(
      (s) => s.size,
      () => -1,
    );
    if (size !== expected.size || (await sha256(full)) !== expected.sha256) return undefined;
  }
  return manifest;
}

async function build(
  spec: GoBuildSpec,
  dir: string,
  env: NodeJS.ProcessEnv,
  log: (line: string) => void,
): Promise<GoBuildManifest> {
  const go = findGo(env);
  const started = Date.now();
  // GOTOOLCHAIN=local: never fetch another Go toolchain behind the operator's back.
  const goFlags = [env.GOFLAGS, '-buildvcs=false'].filter(Boolean).join(' ');
  const goEnv = { ...env, CGO_ENABLED: '0', GOTOOLCHAIN: 'local', GOFLAGS: goFlags };
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'amtflow-go-'));
  const tmp = `${dir}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    const goVersion = (await goRun(go, ['env', 'GOVERSION'], goEnv, scratch)).trim();
    const download = JSON.parse(
      await goRun(go, ['mod', 'download', '-json', `${spec.module}@v${spec.version}`], goEnv, scratch),
    ) as { Dir?: string; GoMod?: string; Error?: string };
    if (download.Error || !download.Dir || !download.GoMod)
      throw new GoBuildError(`go mod download ${spec.module}@v${spec.version}: ${download.Error ?? 'no module dir'}`);
    const required = /^go (\S+)/m.exec(await readFile(download.GoMod, 'utf8'))?.[1];
    if (required && compareGoVersions(goVersion.replace(/^go/, ''), required) < 0) {
      throw new GoToolchainError(
        `${spec.module} v${spec.version} needs Go ${required} or newer; ${go} is ${goVersion}. ` +
          `Install Go ${required}+ (or pin a version of ${spec.module} that this Go can build), then run again.`,
      );
    }

    log(`Building ${spec.module} v${spec.version} with ${goVersion} (once per machine; minutes on a cold cache)...`);
    const gobin = path.join(tmp, 'gobin');
    await mkdir(gobin, { recursive: true });
    const baseNames = spec.programs.map((p) => path.posix.basename(p.package));
    if (new Set(baseNames).size !== baseNames.length)
      throw new GoBuildError(`programs of ${spec.name} share a package name: ${baseNames.join(', ')}`);
    await goRun(
      go,
      [
        'install',
        '-trimpath',
        ...(spec.ldflags ? ['-ldflags', spec.ldflags] : []),
        ...spec.programs.map((p) => `${p.package}@v${spec.version}`),
      ],
      { ...goEnv, GOBIN: gobin },
      scratch,
    );
    await mkdir(path.join(tmp, 'bin'));
    for (const [i, program] of spec.programs.entries()) {
      const target = path.join(tmp, 'bin', program.binary);
      await rename(path.join(gobin, baseNames[i] as string), target);
      if (spec.versionArgs) await checkVersion(target, spec.versionArgs, spec.version);
    }
    await rm(gobin, { recursive: true, force: true });
    for (const sub of spec.moduleDirs ?? []) {
      await copyTree(path.join(download.Dir, sub), path.join(tmp, 'module', sub));
    }

    const manifest: GoBuildManifest = {
      module: spec.module,
      version: spec.version,
      goVersion,
      builtAt: new Date().toISOString(),
      buildSeconds: Math.round((Date.now() - started) / 1000),
      files: await hashTree(tmp),
    };
    await writeFile(path.join(tmp, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
    await rename(tmp, dir);
    log(`Built ${spec.name} ${spec.version} in ${manifest.buildSeconds} s into ${dir}`);
    return manifest;
  } finally {
    await rm(scratch, { recursive: true, force: true });
    await rm(tmp, { recursive: true, force: true });
  }
}

/** Go from PATH (`npm start` and `npm test` put /usr/local/go/bin there when Go lives in it). */
function findGo(env: NodeJS.ProcessEnv): string {
  const dirs = (env.PATH ?? '').split(path.delimiter).filter(Boolean);
  const go = dirs.map((d) => path.join(d, 'go')).find((candidate) => existsSync(candidate));
  if (!go) {
    throw new GoToolchainError(
      'amtflow builds the Temporal server and CLI from their Go modules: install Go (https://go.dev/dl) and put it on PATH, then run again.',
    );
  }
  return go;
}

async function goRun(go: string, args: string[], env: NodeJS.ProcessEnv, cwd: string): Promise<string> {
  try {
    const { stdout } = await run(go, args, { env, cwd, maxBuffer: 64 * 1024 * 1024 });
    return stdout;
  } catch (err) {
    const { stderr, stdout } = err as { stderr?: string; stdout?: string };
    const detail = (stderr || stdout || (err as Error).message).trim().split('\n').slice(-15).join('\n');
    throw new GoBuildError(`go ${args.join(' ')} failed:\n${detail}`);
  }
}

async function checkVersion(binary: string, args: string[], version: string): Promise<void> {
  const { stdout } = await run(binary, args).catch((err: unknown) => {
    throw new GoBuildError(`${binary} ${args.join(' ')} failed: ${(err as Error).message}`);
  });
  if (!stdout.includes(version))
    throw new GoBuildError(`${binary} reports "${stdout.trim()}", expected version ${version}`);
}

/** Compares dotted Go versions (`1.26.8` vs `1.26.10`) numerically. */
export function compareGoVersions(a: string, b: string): number {
  const pa = a.split(/[.]/).map((n) => parseInt(n, 10) || 0);
  const pb = b.split(/[.]/).map((n) => parseInt(n, 10) || 0);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

async function sha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function hashTree(root: string, rel = ''): Promise<GoBuildManifest['files']> {
  const files: GoBuildManifest['files'] = {};
  for (const item of await readdir(path.join(root, rel), { withFileTypes: true })) {
    const child = path.posix.join(rel, item.name);
    if (item.isDirectory()) Object.assign(files, await hashTree(root, child));
    else
      files[child] = { size: (await stat(path.join(root, child))).size, sha256: await sha256(path.join(root, child)) };
  }
  return files;
}

/** Copies a tree out of the read-only module cache with ordinary modes, so the entry can be removed. */
async function copyTree(from: string, to: string): Promise<void> {
  await mkdir(to, { recursive: true });
  for (const item of await readdir(from, { withFileTypes: true })) {
    if (item.isDirectory()) await copyTree(path.join(from, item.name), path.join(to, item.name));
    else {
      await copyFile(path.join(from, item.name), path.join(to, item.name));
      await chmod(path.join(to, item.name), 0o644);
    }
  }
}

/** Removes `<entry>.tmp-<pid>-…` directories of builds whose process died before renaming them. */
async function removeAbandonedBuilds(dir: string): Promise<void> {
  const prefix = `${path.basename(dir)}.tmp-`;
  for (const name of await readdir(path.dirname(dir))) {
    const pid = name.startsWith(prefix) ? Number(name.slice(prefix.length).split('-')[0]) : undefined;
    if (pid && !isAlive(pid)) await rm(path.join(path.dirname(dir), name), { recursive: true, force: true });
  }
}

/**
 * Takes the build lock, or returns the manifest of the entry another process built meanwhile.
 * A lock whose owner is gone was left by a crashed build and is taken over; a lock without a pid
 * is given ten seconds for its owner to write one.
 */
async function acquireLock(
  lock: string,
  timeoutMs: number,
  builtElsewhere: () => Promise<GoBuildManifest | undefined>,
): Promise<'acquired' | GoBuildManifest> {
  const owner = path.join(lock, 'pid');
  let result: 'acquired' | GoBuildManifest | undefined;
  await waitFor(
    `the build lock ${lock}`,
    async () => {
      try {
        await mkdir(lock);
        await writeFile(owner, String(process.pid));
        result = 'acquired';
        return true;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const pid = Number(await readFile(owner, 'utf8').catch(() => ''));
      const age =
        Date.now() -
        (await stat(lock).then(
          (s) => s.mtimeMs,
          () => Date.now(),
        ));
      if ((pid && !isAlive(pid)) || (!pid && age > 10_000)) {
        await rm(lock, { recursive: true, force: true });
        return false;
      }
      result = await builtElsewhere();
      return result !== undefined;
    },
    timeoutMs,
    1_000,
  );
  return result as 'acquired' | GoBuildManifest;
}
