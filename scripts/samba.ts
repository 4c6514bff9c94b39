/**
 * `tsx scripts/samba.ts install|start|stop|status` — the dev Samba AD DC under amtflow's state
 * directory, for the domain, realm and AMT container of the configuration (corp.example.test when
 * no directory is configured).
 */
import { Command } from 'commander';
import { loadConfig } from '../lib/config';
import { STARTED_BY } from './lib/process';
import { ensureSambaDc, installSamba, isSambaDcHealthy, sambaDc, stopSambaDc, type SambaDc } from './samba-dc';

const program = new Command('samba').description("amtflow's dev Samba AD domain controller");
const log = (line: string) => console.error(`[amtflow] ${line}`);

function devDc(): SambaDc {
  const config = loadConfig();
  return sambaDc({
    stateDir: config.stateDir,
    ip: config.dev.dcIp,
    domain: config.directory?.domain,
    realm: config.directory?.realm,
    amtContainer: config.directory?.amtContainer,
  });
}

program
  .command('install')
  .description('install the Debian packages the DC needs, when missing')
  .action(async () => {
    await installSamba(log);
  });

program
  .command('start')
  .description('install, provision (first time) and start the DC; wait until LDAP answers')
  .action(async () => {
    const dc = devDc();
    const running = await ensureSambaDc(dc, log, STARTED_BY.byHand);
    console.log(
      `Samba DC ${dc.serverName} for ${dc.domain} on ldaps://${dc.ip} (CA ${dc.caFile}, ` +
        `Administrator's password in ${dc.adminPasswordFile})${running.reused ? ', already running' : ''}`,
    );
  });

program
  .command('stop')
  .description('stop the DC started by `start`')
  .action(async () => {
    console.log((await stopSambaDc(devDc())) ? 'Samba DC stopped' : 'no Samba DC was running');
  });

program
  .command('status')
  .description('say whether the DC answers')
  .action(async () => {
    const dc = devDc();
    const healthy = await isSambaDcHealthy(dc);
    console.log(healthy ? `Samba DC for ${dc.domain} answers on ${dc.ip}` : `no Samba DC answers on ${dc.ip}`);
    process.exitCode = healthy ? 0 : 1;
  });

program.parseAsync().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
