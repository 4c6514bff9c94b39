import { Client, Connection } from '@temporalio/client';
import { loadClientConnectConfig, type ClientConnectConfig } from '@temporalio/envconfig';
import { NativeConnection } from '@temporalio/worker';
import type { AmtflowConfig } from '../lib/config';
import { loadDerivationKey } from '../lib/crypto/kek';
import { amtflowDataConverter } from './data-converter';

/**
 * Connection settings from the configured envconfig profile (temporal-config/profiles.toml),
 * with amtflow's own overrides applied last.
 */
export function temporalConnectConfig(
  config: AmtflowConfig,
): Required<Pick<ClientConnectConfig, 'namespace'>> & ClientConnectConfig {
  const loaded = loadClientConnectConfig({
    profile: config.temporal.profile,
    configSource: { path: config.temporal.profilesFile },
  });
  const address = config.temporal.address ?? loaded.connectionOptions.address;
  return {
    connectionOptions: { ...loaded.connectionOptions, ...(address ? { address } : {}) },
    namespace: config.temporal.namespace ?? loaded.namespace ?? 'amtflow',
  };
}

export async function connectClient(config: AmtflowConfig): Promise<{ client: Client; connection: Connection }> {
  const { connectionOptions, namespace } = temporalConnectConfig(config);
  const connection = await Connection.connect(connectionOptions);
  const dataConverter = amtflowDataConverter(loadDerivationKey(config));
  return { client: new Client({ connection, namespace, dataConverter }), connection };
}

export async function connectWorker(
  config: AmtflowConfig,
): Promise<{ connection: NativeConnection; namespace: string }> {
  const { connectionOptions, namespace } = temporalConnectConfig(config);
  return { connection: await NativeConnection.connect(connectionOptions), namespace };
}
