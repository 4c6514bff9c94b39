/**
 * Key-encryption key rotation (docs/architecture.md, "Secrets"):
 *
 *   npm run secrets:rotate   appends a fresh key to the key file; from the next start it seals new secrets
 *   npm run secrets:reseal   seals every stored secret again under the newest key
 *
 * Old keys stay in the ring and keep opening what they sealed until the reseal has moved it. The
 * payload codec key and the codec server's token derive from the ring's first key, so neither step
 * changes them. With the embedded database (PGlite) run the reseal while amtflow is stopped.
 */
import { Command } from 'commander';
import { loadConfig, pgliteDir } from '../lib/config';
import { addKeyToKeyFile, secretBoxFromConfig } from '../lib/crypto/kek';
import { caDirectory, resealCaFiles } from '../lib/pki/ca-state';
import { openDatabase } from '../lib/store/database';
import { resealStore } from '../lib/store/reseal';

const program = new Command('amtflow-secrets').description('key-encryption key rotation');

program
  .command('rotate')
  .description('append a new key to the key file; it seals every new secret from the next start')
  .action(() => {
    const added = addKeyToKeyFile(loadConfig());
    console.log(
      `key ${added.keyId} added to ${added.file} (${added.keys} keys). ` +
        'Restart every amtflow process, then run `npm run secrets:reseal`.',
    );
  });

program
  .command('reseal')
  .description('seal every stored secret (database and CA directory) again under the newest key')
  .action(async () => {
    const config = loadConfig();
    const box = secretBoxFromConfig(config);
    const database = await openDatabase(
      config.database.url ? { url: config.database.url } : { dataDir: pgliteDir(config) },
    );
    try {
      const stored = await resealStore(database.db, box);
      const caKeys = resealCaFiles(caDirectory(config), box);
      console.log(
        `resealed under key ${box.currentKeyId}: ${stored.credentials} credentials, ` +
          `${stored.profileSecrets} profile secrets, ${stored.certificateKeys} certificate keys, ${caKeys} CA keys`,
      );
    } finally {
      await database.close();
    }
  });

program.parseAsync().catch((err: unknown) => {
  console.error(err instanceof Error ? `${err.name}: ${err.message}` : String(err));
  process.exitCode = 1;
});
