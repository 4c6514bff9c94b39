export { configSchema, type AmtflowConfig, type DirectoryConfig, type CaConfig } from './schema';
export { loadConfig, pgliteDir, ConfigError, type LoadOptions } from './load';
