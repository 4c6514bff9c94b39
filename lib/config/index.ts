export { configSchema, type AmtflowConfig, type DirectoryConfig, type CaConfig, type AmtConfig } from './schema';
export { loadConfig, pgliteDir, ConfigError, type LoadOptions } from './load';
