/**
 * Provisioning chains from the CLI (issue 12 §2): list them, add one under another root — one call
 * of the HTTP API each (api/routes/provisioning-chains.ts). The PKCS#12 password is read from a
 * file, never taken on the command line where every process list would show it.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { withContext } from '../context';

interface ChainAnswer {
  commonName: string;
  notAfter: string;
  rootThumbprints: { sha256: string };
  warnings: string[];
}

const describe = (chain: ChainAnswer) =>
  [
    `${chain.commonName} (until ${chain.notAfter}) under root ${chain.rootThumbprints.sha256}`,
    ...chain.warnings.map((warning) => `  warning: ${warning}`),
  ].join('\n');

export function registerProvisioningCommands(program: Command): void {
  const chains = program
    .command('provisioning-chains')
    .description('the provisioning certificates amtflow presents to firmware, one per trusted root (OOB3/OOB4)');
  chains
    .command('list')
    .action((_o: unknown, command: Command) =>
      withContext(command, async (c) =>
        c.print(await c.api.get<{ chains: ChainAnswer[] }>('/provisioning-chains'), (answer) =>
          answer.chains.map(describe).join('\n'),
        ),
      ),
    );
  chains
    .command('add')
    .argument('<pkcs12>', 'the provisioning certificate with its key and chain (PKCS#12 file)')
    .description('add a provisioning chain under another root (administrator); checked as at import')
    .option('--password-file <file>', 'file holding the PKCS#12 password')
    .option('--chain <pem>', 'PEM file with certificates that complete the chain up to the root')
    .option('--older-firmware-only', 'keep a chain AMT 15/16 and later refuse (SHA-1, RSA under 2048 bits)')
    .action(
      (file: string, o: { passwordFile?: string; chain?: string; olderFirmwareOnly?: boolean }, command: Command) =>
        withContext(command, async (c) =>
          c.print(
            await c.api.post<ChainAnswer>('/provisioning-chains', {
              pkcs12: readFileSync(file).toString('base64'),
              password: o.passwordFile ? readFileSync(o.passwordFile, 'utf8').replace(/\r?\n$/, '') : '',
              ...(o.chain ? { extraCertificatesPem: readFileSync(o.chain, 'utf8') } : {}),
              olderFirmwareOnly: Boolean(o.olderFirmwareOnly),
            }),
            describe,
          ),
        ),
    );
}
