import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { AMT } from '@device-management-toolkit/wsman-messages';
import { waitFor } from '../../../scripts/lib/process';
import { AmtClient, exchange, type Target } from './support/client';
import { freshFirstIp, tempDir } from './support/fleet';
import { get, invoke } from './support/wsman';

/**
 * Issue 3, limits: thousands of bad requests against an emulator process (the real CLI), answered
 * like firmware; afterwards the process is alive, serves a valid request, and its memory did not
 * keep growing.
 */
describe('robustness against bad input', () => {
  let child: ChildProcess;
  let stateDir: string;
  let http: Target;
  let tlsPort: Target;
  const password = 'R0bust!pass';
  const rssKb = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))![1]);

  beforeAll(async () => {
    stateDir = await tempDir();
    await writeFile(
      path.join(stateDir, 'fleet.json'),
      JSON.stringify({ devices: [{ state: 'post', adminPassword: password }, { helloEnabled: false }] }),
    );
    // Node with tsx's loader in one process, so that the pid (liveness, memory) is the emulator's own.
    child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'emulator/cli.ts',
        '--fleet-file',
        path.join(stateDir, 'fleet.json'),
        '--ephemeral-ports',
        '--admin-port',
        '0',
        '--first-ip',
        freshFirstIp(),
        '--state-dir',
        stateDir,
        '--key-pool-dir',
        path.join(os.tmpdir(), 'amtflow-emulator-test-keys'),
        '--key-pool-size',
        '6',
        '--log-level',
        'fatal',
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    const started = /(\S+):(\d+)\/\d+ … (\S+):\d+\/(\d+)/;
    await waitFor('the emulator to start', async () => started.test(out), 60_000, 20);
    const line = started.exec(out)!;
    http = { host: line[1]!, port: Number(line[2]) };
    tlsPort = { host: line[3]!, port: Number(line[4]) };
  }, 90_000);

  afterAll(async () => {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    await rm(stateDir, { recursive: true, force: true });
  });

  async function batch<T>(n: number, concurrency: number, task: (i: number) => Promise<T>): Promise<T[]> {
    const results: T[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < n) {
          const i = next++;
          results[i] = await task(i);
        }
      }),
    );
    return results;
  }

  const garbageTcp = (target: Target, bytes: Buffer) =>
    new Promise<string>((resolve) => {
      const s = net.connect(target, () => s.end(bytes));
      let got = '';
      s.on('data', (d: Buffer) => (got += d.toString('latin1')));
      s.on('error', () => resolve(got));
      s.on('close', () => resolve(got));
    });

  /** One round of every kind of bad input; returns the statuses seen per kind. */
  async function round(c: AmtClient, n: number): Promise<Record<string, Set<number | string>>> {
    const seen: Record<string, Set<number | string>> = {};
    const note = (kind: string, v: number | string): void => {
      (seen[kind] ??= new Set()).add(v);
    };
    const authed = (body: string) => exchange(http, c.frame(body, c.authorization('POST', '/wsman')));
    const bomb =
      '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]><lolz>&lol2;</lolz>';
    const kinds: (() => Promise<void>)[] = [
      async () => note('malformed', (await authed('<Envelope><Header><unclosed></Envelope>')).status),
      async () => note('bomb', (await authed(bomb)).status),
      async () => note('deep', (await authed('<a>'.repeat(5000) + '</a>'.repeat(5000))).status),
      async () => note('unknownClass', (await authed(get('AMT_DoesNotExist'))).status),
      async () => note('badSelector', (await authed(get('AMT_EthernetPortSettings', { Bogus: 'x' }))).status),
      async () => note('badMethod', (await authed(invoke('AMT_GeneralSettings', 'Explode', ''))).status),
      async () => note('wrongHttpMethod', (await exchange(http, 'DELETE /wsman HTTP/1.1\r\nHost: x\r\n\r\n')).status),
      async () =>
        note(
          'tooLarge',
          (
            await exchange(http, `POST /wsman HTTP/1.1\r\nHost: x\r\nContent-Length: ${300 * 1024}\r\n\r\n<a>`).catch(
              () => ({ status: 'closed' }),
            )
          ).status,
        ),
      async () => note('garbageHttp', (await garbageTcp(http, randomBytes(512))).slice(0, 12) || 'closed'),
      async () => {
        // A TLS alert (record type 21) is a legitimate answer to garbage that looks like a handshake.
        const got = await garbageTcp(tlsPort, randomBytes(700));
        note('garbageTls', got.length === 0 ? 'closed' : got.charCodeAt(0) === 21 ? 'alert' : 'answered');
      },
    ];
    await batch(n, 16, (i) => kinds[i % kinds.length]!());
    return seen;
  }

  it('answers every bad request like firmware, stays alive and does not leak', async () => {
    const c = new AmtClient({ ...http, username: 'admin', password, style: 'go' });
    expect((await c.post(new AMT.Messages().GeneralSettings.Get())).status).toBe(200);

    const first = await round(c, 600);
    const rssAfterWarmup = rssKb();
    const seen = await round(c, 3000);
    const rssAfter = rssKb();

    expect(seen.malformed).toEqual(new Set([400]));
    expect(seen.bomb).toEqual(new Set([400]));
    expect(seen.deep).toEqual(new Set([400]));
    expect(seen.unknownClass).toEqual(new Set([400]));
    expect(seen.badSelector).toEqual(new Set([400]));
    expect(seen.badMethod).toEqual(new Set([400]));
    expect(seen.wrongHttpMethod).toEqual(new Set([405]));
    expect([...seen.tooLarge!].every((s) => s === 413 || s === 'closed')).toBe(true);
    expect([...seen.garbageHttp!].every((s) => s === 'closed' || String(s).startsWith('HTTP/1.1 4'))).toBe(true);
    expect([...seen.garbageTls!].every((s) => s === 'closed' || s === 'alert')).toBe(true);
    expect(first.malformed).toEqual(new Set([400]));

    expect(child.exitCode).toBeNull();
    expect((await c.post(new AMT.Messages().GeneralSettings.Get())).status).toBe(200);
    // Five times the traffic of the warm-up must not cost more than a bounded amount of memory.
    expect(rssAfter - rssAfterWarmup).toBeLessThan(64 * 1024);
  }, 120_000);
});
