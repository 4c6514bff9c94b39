/**
 * The throwaway Samba AD domain controller that `npm start` and `npm test` use as amtflow's
 * directory: install Debian's Samba when missing, provision a domain under the state directory,
 * start the slim single-process DC (LDAP/LDAPS and the KDC only) on a loopback address of its own,
 * wait until LDAP answers, stop it. Nothing outside `<stateDir>/samba` (and its `.lock` and
 * `.leases` siblings) is touched except the loopback alias; /etc/samba is never read, every Samba
 * tool gets our smb.conf.
 */
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'ldapts';
import { directorySchema, type DirectoryConfig } from '../lib/config/schema';
import { withDirectory } from '../lib/directory';
import { ensureDebianPackages } from './debian-packages';
import { isAlive, readPidFile, STARTED_BY, terminate, waitFor, writePidFile, type StartedBy } from './lib/process';

const run = promisify(execFile);

/**
 * The test DC's loopback address of its own, so LDAP 389/636 and Kerberos 88 never clash with
 * anything on 127.0.0.1 (the dev DC's is `dev.dcIp` in the configuration, 127.77.0.1).
 */
export const TEST_DC_IP = '127.77.0.2';
const DEFAULT_DEV_DOMAIN = 'corp.example.test';
const DC_HOST_NAME = 'amtflow-dc';

export interface SambaDcOptions {
  /** amtflow's state directory; the DC lives in `<stateDir>/samba`. */
  stateDir: string;
  /** A loopback address of the DC's own. */
  ip: string;
  domain?: string;
  realm?: string;
  amtContainer?: string;
}

export interface SambaDc {
  dir: string;
  ip: string;
  domain: string;
  realm: string;
  netbiosName: string;
  /** DNS name in the certificate Samba generates for LDAPS. */
  serverName: string;
  domainDn: string;
  amtContainer: string;
  smbConf: string;
  samLdb: string;
  /** Administrator's password, generated at provisioning, mode 0600. */
  adminPasswordFile: string;
  /** The CA of Samba's self-signed LDAPS certificate, exported for directory.caFile. */
  caFile: string;
  pidFile: string;
  logFile: string;
  /** Written last by a successful provisioning; its settings must match for the directory to be reused. */
  markerFile: string;
}

export function sambaDc(options: SambaDcOptions): SambaDc {
  const dir = path.join(path.resolve(options.stateDir), 'samba');
  const domain = (options.domain ?? DEFAULT_DEV_DOMAIN).toLowerCase();
  return {
    dir,
    ip: options.ip,
    domain,
    realm: (options.realm ?? domain).toUpperCase(),
    netbiosName: (domain.split('.')[0] as string).slice(0, 15).toUpperCase(),
    serverName: `${DC_HOST_NAME}.${domain}`,
    domainDn: domain
      .split('.')
      .map((label) => `DC=${label}`)
      .join(','),
    amtContainer: options.amtContainer ?? directorySchema.shape.amtContainer.parse(undefined),
    smbConf: path.join(dir, 'etc', 'smb.conf'),
    samLdb: path.join(dir, 'private', 'sam.ldb'),
    adminPasswordFile: path.join(dir, 'admin-password'),
    caFile: path.join(dir, 'ldaps-ca.pem'),
    pidFile: path.join(dir, 'samba.pid'),
    logFile: path.join(dir, 'samba.log'),
    markerFile: path.join(dir, 'provisioned.json'),
  };
}

/** The directory configuration that reaches this DC: LDAPS, its exported CA, Administrator. */
export function sambaDirectoryConfig(dc: SambaDc): DirectoryConfig {
  return directorySchema.parse({
    url: `ldaps://${dc.ip}`,
    caFile: dc.caFile,
    tlsServerName: dc.serverName,
    bindDn: `CN=Administrator,CN=Users,${dc.domainDn}`,
    bindPasswordFile: dc.adminPasswordFile,
    domain: dc.domain,
    realm: dc.realm,
    amtContainer: dc.amtContainer,
  });
}

type Log = (line: string) => void;

function findTool(name: string): string | undefined {
  // Non-login root shells may lack /usr/sbin, where samba lives.
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter), '/usr/sbin', '/sbin', '/usr/bin'];
  return dirs
    .filter((dir) => path.isAbsolute(dir))
    .map((dir) => path.join(dir, name))
    .find((candidate) => existsSync(candidate));
}

function tool(name: string): string {
  const found = findTool(name);
  if (!found) throw new Error(`${name} is not installed; run \`npx tsx scripts/samba.ts install\` (as root)`);
  return found;
}

/** Installs the Debian packages the DC needs (component `samba-dc` of scripts/debian-packages.list) when missing. */
export async function installSamba(log: Log = () => undefined): Promise<void> {
  await ensureDebianPackages({ components: ['samba-dc'] }, log);
}

/** Runs a command with `input` on stdin (how secrets reach Samba's and Kerberos' tools: never on a command line). */
export function runWithInput(command: string, args: string[], input: string, env = process.env): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) =>
      code === 0 ? resolve(output) : reject(new Error(`${path.basename(command)} failed (${code}): ${output.trim()}`)),
    );
    child.stdin.end(input);
  });
}

/** Samba's tools print the generated password; such lines never reach a log or an error. */
function withoutPasswords(output: string): string {
  return output
    .split('\n')
    .filter((line) => !/passw/i.test(line))
    .join('\n');
}

interface Marker {
  realm: string;
  domain: string;
  netbiosName: string;
  ip: string;
  provisionMs: number;
}

/**
 * Provisions the domain unless a finished provisioning for the same realm, domain and address is
 * there already (then it is reused as is). A half-written directory from an interrupted run is
 * removed first.
 */
export async function provisionSambaDc(
  dc: SambaDc,
  log: Log = () => undefined,
): Promise<{ provisioned: boolean; ms: number }> {
  const wanted = { realm: dc.realm, domain: dc.domain, netbiosName: dc.netbiosName, ip: dc.ip };
  if (existsSync(dc.markerFile)) {
    const marker = JSON.parse(readFileSync(dc.markerFile, 'utf8')) as Marker;
    const differs = (Object.keys(wanted) as (keyof typeof wanted)[]).filter((key) => marker[key] !== wanted[key]);
    if (differs.length > 0) {
      throw new Error(
        `${dc.dir} holds a DC provisioned with other settings (${differs.map((k) => `${k} ${marker[k]}`).join(', ')}); ` +
          `stop it and remove ${dc.dir} to provision ${dc.domain} again`,
      );
    }
    return { provisioned: false, ms: 0 };
  }
  const started = Date.now();
  log(`provisioning the Samba AD DC for ${dc.domain} in ${dc.dir}`);
  rmSync(dc.dir, { recursive: true, force: true });
  mkdirSync(path.dirname(dc.smbConf), { recursive: true, mode: 0o700 });
  // samba-tool reads the file named by -s before writing it; an empty one keeps /etc/samba/smb.conf out.
  writeFileSync(dc.smbConf, '');
  const options = {
    interfaces: dc.ip,
    'bind interfaces only': 'yes',
    'server services': 'ldap, kdc',
    'log file': path.join(dc.dir, 'log', 'samba.log'),
    'pid directory': path.join(dc.dir, 'run'),
    'winbindd socket directory': path.join(dc.dir, 'run', 'winbindd'),
    'ntp signd socket directory': path.join(dc.dir, 'run', 'ntp_signd'),
  };
  try {
    await run(
      tool('samba-tool'),
      [
        'domain',
        'provision',
        '-s',
        dc.smbConf,
        `--targetdir=${dc.dir}`,
        `--realm=${dc.realm}`,
        `--domain=${dc.netbiosName}`,
        '--server-role=dc',
        '--dns-backend=NONE',
        `--host-name=${DC_HOST_NAME}`,
        `--host-ip=${dc.ip}`,
        ...Object.entries(options).map(([key, v]) => `--option=${key}=${v}`),
      ],
      { maxBuffer: 16 * 1024 * 1024 },
    );
  } catch (err) {
    const { stdout = '', stderr = '' } = err as { stdout?: string; stderr?: string };
    throw new Error(`samba-tool domain provision failed:\n${withoutPasswords(`${stdout}\n${stderr}`).trim()}`);
  }
  // Provisioning generated a random Administrator password and printed it; replace it with one that
  // only the 0600 file knows, set through ldbmodify's stdin while the DC is still offline.
  // 32 random characters; the fixed tail meets the domain's complexity rule whatever they are.
  const password = `${randomBytes(24).toString('base64url')}-Aa1`;
  writeFileSync(dc.adminPasswordFile, password, { mode: 0o600 });
  chmodSync(dc.adminPasswordFile, 0o600);
  const encoded = Buffer.from(`"${password}"`, 'utf16le').toString('base64');
  await runWithInput(
    tool('ldbmodify'),
    [`--configfile=${dc.smbConf}`, '-H', dc.samLdb],
    `dn: CN=Administrator,CN=Users,${dc.domainDn}\nchangetype: modify\nreplace: unicodePwd\nunicodePwd:: ${encoded}\n`,
  ).catch((err: Error) => {
    throw new Error(`setting the Administrator password failed: ${withoutPasswords(err.message)}`);
  });
  const ms = Date.now() - started;
  writeFileSync(dc.markerFile, JSON.stringify({ ...wanted, provisionMs: ms } satisfies Marker, null, 2));
  log(`provisioned ${dc.domain} in ${ms} ms`);
  return { provisioned: true, ms };
}

/** Adds the DC's address to the loopback interface (Samba binds only to addresses an interface has). */
async function ensureLoopbackAddress(ip: string): Promise<void> {
  const ipTool = tool('ip');
  const { stdout } = await run(ipTool, ['-o', '-4', 'addr', 'show', 'dev', 'lo']);
  if (stdout.includes(` ${ip}/`)) return;
  try {
    await run(ipTool, ['addr', 'add', `${ip}/32`, 'dev', 'lo']);
  } catch (err) {
    throw new Error(
      `cannot add ${ip} to the loopback interface (${(err as { stderr?: string }).stderr?.trim() ?? String(err)}); ` +
        `run as root, or add it once: ip addr add ${ip}/32 dev lo`,
    );
  }
}

/** True when LDAP on the DC's address answers with this domain's rootDSE. */
export async function isSambaDcHealthy(dc: SambaDc): Promise<boolean> {
  const client = new Client({ url: `ldap://${dc.ip}`, timeout: 2_000, connectTimeout: 2_000 });
  try {
    const { searchEntries } = await client.search('', { scope: 'base', attributes: ['defaultNamingContext'] });
    return String(searchEntries[0]?.defaultNamingContext ?? '').toLowerCase() === dc.domainDn.toLowerCase();
  } catch {
    return false;
  } finally {
    await client.unbind().catch(() => undefined);
  }
}

export interface RunningSambaDc {
  pid: number | undefined;
  /** True when a healthy DC of this state directory was already running. */
  reused: boolean;
  /** Who started the running DC (unknown for a DC recorded by an older amtflow). */
  startedBy: StartedBy | undefined;
  config: DirectoryConfig;
}

/**
 * Starts the DC detached (it outlives the process that started it; `stopSambaDc` ends it), waits for
 * LDAP, exports the LDAPS CA and makes sure the AMT container exists. A DC of this state directory
 * already answering is reused; its pid file says who started it.
 */
export async function startSambaDc(
  dc: SambaDc,
  options: { startedBy?: StartedBy; timeoutMs?: number } = {},
): Promise<RunningSambaDc> {
  await ensureLoopbackAddress(dc.ip);
  const recorded = readPidFile(dc.pidFile);
  const reused = recorded !== undefined && isAlive(recorded.pid) && (await isSambaDcHealthy(dc));
  if (!reused) {
    // A DC of another state directory on this address would answer our health check while our own
    // files (TLS CA, admin password) do not match it.
    if (await isSambaDcHealthy(dc)) {
      throw new Error(
        `another Samba DC for ${dc.domain} already answers on ${dc.ip}, not the one of ${dc.dir}: stop it or use another address`,
      );
    }
    await spawnSamba(dc, options.startedBy ?? STARTED_BY.byHand, options.timeoutMs ?? 120_000);
  }
  // Samba generates its self-signed certificate at first start, before it listens.
  copyFileSync(path.join(dc.dir, 'private', 'tls', 'ca.pem'), dc.caFile);
  const config = sambaDirectoryConfig(dc);
  await withDirectory(config, (directory) => directory.ensureAmtContainer());
  const running = readPidFile(dc.pidFile);
  return { pid: running?.pid, reused, startedBy: running?.startedBy, config };
}

async function spawnSamba(dc: SambaDc, startedBy: StartedBy, timeoutMs: number): Promise<void> {
  const out = openSync(dc.logFile, 'a');
  const child = spawn(tool('samba'), ['-i', '-M', 'single', '-s', dc.smbConf], {
    detached: true,
    stdio: ['ignore', out, out],
  });
  closeSync(out);
  if (child.pid === undefined) throw new Error('could not start samba');
  child.unref();
  writePidFile(dc.pidFile, { pid: child.pid, startedBy });
  let exited: number | null | undefined;
  child.once('exit', (code) => (exited = code));
  await waitFor(
    `the Samba DC at ldap://${dc.ip} (log: ${dc.logFile})`,
    async () => {
      if (exited !== undefined) {
        const tail = readFileSync(dc.logFile, 'utf8').trim().split('\n').slice(-15).join('\n');
        throw new Error(`samba exited with code ${exited}:\n${tail}`);
      }
      return isSambaDcHealthy(dc);
    },
    timeoutMs,
  );
}

/** Stops the DC recorded in the pid file: SIGTERM, then SIGKILL after a grace period. */
export async function stopSambaDc(dc: SambaDc, graceMs = 15_000): Promise<boolean> {
  const recorded = readPidFile(dc.pidFile);
  rmSync(dc.pidFile, { force: true });
  if (recorded === undefined) return false;
  return terminate(recorded.pid, 'the Samba DC', graceMs);
}

/**
 * Serialises provisioning and starting between processes (two test runs, `npm start` beside
 * `npm test`): the lock file holds its owner's pid, and a lock whose owner is gone is taken over.
 */
async function withLock<T>(dc: SambaDc, work: () => Promise<T>): Promise<T> {
  const lock = `${dc.dir}.lock`;
  mkdirSync(path.dirname(lock), { recursive: true });
  await waitFor(
    `the lock ${lock}`,
    async () => {
      try {
        writeFileSync(lock, String(process.pid), { flag: 'wx' });
        return true;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        const owner = Number(readFileSync(lock, 'utf8'));
        if (!Number.isInteger(owner) || !isAlive(owner)) rmSync(lock, { force: true });
        return false;
      }
    },
    300_000,
  );
  try {
    return await work();
  } finally {
    rmSync(lock, { force: true });
  }
}

async function ensureLocked(dc: SambaDc, log: Log, startedBy: StartedBy): Promise<RunningSambaDc> {
  await installSamba(log);
  await provisionSambaDc(dc, log);
  const started = Date.now();
  const running = await startSambaDc(dc, { startedBy });
  if (!running.reused) log(`Samba DC for ${dc.domain} up on ${dc.ip} in ${Date.now() - started} ms`);
  return running;
}

/** Everything `npm start` (or `samba.ts start`) needs: packages, a provisioned domain, a running DC. */
export function ensureSambaDc(
  dc: SambaDc,
  log: Log = () => undefined,
  startedBy: StartedBy = STARTED_BY.byHand,
): Promise<RunningSambaDc> {
  return withLock(dc, () => ensureLocked(dc, log, startedBy));
}

/*
 * Test runs (several engineers' jest processes, or one run's projects) share the test DC. Each run
 * holds a lease, a file named by its pid, from global setup to global teardown; the last run out
 * stops the DC if a test run started it, this one or a crashed one (a DC started otherwise is left
 * alone; the lease of a crashed run does not count).
 */
const leaseDir = (dc: SambaDc) => `${dc.dir}.leases`;

function liveLeases(dc: SambaDc): number[] {
  if (!existsSync(leaseDir(dc))) return [];
  return readdirSync(leaseDir(dc))
    .filter((name) => /^\d+$/.test(name))
    .map(Number)
    .filter((pid) => {
      if (isAlive(pid)) return true;
      rmSync(path.join(leaseDir(dc), String(pid)), { force: true });
      return false;
    });
}

export function leaseSambaDc(dc: SambaDc, log: Log = () => undefined): Promise<RunningSambaDc> {
  return withLock(dc, async () => {
    const running = await ensureLocked(dc, log, STARTED_BY.tests);
    mkdirSync(leaseDir(dc), { recursive: true });
    writeFileSync(path.join(leaseDir(dc), String(process.pid)), '');
    return running;
  });
}

/** Gives the lease back; stops the DC when a test run started it and no run holds a lease. */
export function releaseSambaDc(dc: SambaDc): Promise<boolean> {
  return withLock(dc, async () => {
    rmSync(path.join(leaseDir(dc), String(process.pid)), { force: true });
    if (liveLeases(dc).length > 0 || readPidFile(dc.pidFile)?.startedBy !== STARTED_BY.tests) return false;
    return stopSambaDc(dc);
  });
}
