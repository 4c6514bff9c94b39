import { createHash, randomInt } from 'node:crypto';
import http from 'node:http';
import type { Device } from '../device/device';
import { EmulatorError } from '../errors';

/**
 * The OS-side AMT agent of spec IB1–IB3 (the ConfigMgr client's role): checks the platform,
 * generates a one-time password, stores it in the firmware over HECI, enables the AMT network
 * interface, starts remote configuration and reports the OTP hash, the AMT version and the wired
 * IP address to amtflow. The report goes through a pluggable reporter until amtflow's API defines
 * the endpoint.
 */
export interface AgentReport {
  uuid: string;
  /** Lower-case hex SHA-256 of the ASCII OTP. */
  otpHash: string;
  amtVersion: string;
  sku: string;
  wiredIpAddress: string;
}

export type Reporter = (report: AgentReport) => Promise<void>;

export interface AgentOptions {
  reporter: Reporter;
  /** (2007 behaviour) the provisioning CA root thumbprint, hex; must be in the firmware's hash store. */
  rootThumbprint?: string;
}

const OTP_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';
const OTP_LENGTH = 16;

export function generateOtp(): string {
  return Array.from({ length: OTP_LENGTH }, () => OTP_ALPHABET[randomInt(OTP_ALPHABET.length)]).join('');
}

export function otpHash(otp: string): string {
  return createHash('sha256').update(otp, 'ascii').digest('hex');
}

export async function runAgent(device: Device, options: AgentOptions): Promise<AgentReport> {
  const nvram = device.nvram();
  // IB1: HECI driver, state Not Provisioned, root thumbprint known to the firmware.
  if (!nvram.heci) throw new EmulatorError('AGENT_NO_HECI', `device ${nvram.uuid}: the HECI driver is not installed`);
  if (nvram.provisioning.state !== 0) {
    throw new EmulatorError('AGENT_NOT_UNPROVISIONED', `device ${nvram.uuid}: AMT state is not Not Provisioned`);
  }
  const thumbprint = options.rootThumbprint?.toLowerCase();
  if (thumbprint && !nvram.hashes.some((h) => h.enabled && h.hash === thumbprint)) {
    throw new EmulatorError('AGENT_ROOT_HASH_MISSING', `device ${nvram.uuid}: root thumbprint not in the firmware`);
  }
  // IB2: OTP into firmware, network interface on, hellos start.
  const otp = generateOtp();
  await device.setProvisioningOtp(otp);
  await device.startConfiguration();
  // IB2/IB3: the report.
  const report: AgentReport = {
    uuid: nvram.uuid,
    otpHash: otpHash(otp),
    amtVersion: nvram.amtVersion,
    sku: nvram.sku,
    wiredIpAddress: nvram.ethernet[0]!.ipAddress,
  };
  await options.reporter(report);
  return report;
}

/**
 * Reporter that POSTs the report as JSON to amtflow's API, from `localAddress` when given — the
 * computer's own address, which amtflow requires a report to come from (issue 9). Errors name the
 * API's origin only: the URL's path may carry the computer's agent credential.
 */
export function httpReporter(url: string, options: { localAddress?: string } = {}): Reporter {
  const target = new URL(url);
  return (report) =>
    new Promise<void>((resolve, reject) => {
      const fail = (why: string, cause?: unknown) =>
        reject(new EmulatorError('AGENT_REPORT_FAILED', `report to ${target.origin} ${why}`, { cause }));
      const body = JSON.stringify(report);
      const request = http.request(
        target,
        {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
          timeout: 10_000,
          ...(options.localAddress ? { localAddress: options.localAddress } : {}),
        },
        (response) => {
          response.resume();
          response.on('end', () => {
            const status = response.statusCode ?? 0;
            if (status >= 200 && status < 300) resolve();
            else fail(`answered ${status}`);
          });
        },
      );
      request.on('timeout', () => request.destroy(new Error('no answer within 10 s')));
      request.on('error', (err) => fail(`failed: ${err.message}`, err));
      request.end(body);
    });
}
