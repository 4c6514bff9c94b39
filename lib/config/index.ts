export {
  configSchema,
  apiLimitsSchema,
  type ApiLimitsConfig,
  type AmtflowConfig,
  type DirectoryConfig,
  type CaConfig,
  type AmtConfig,
  type SchedulesConfig,
  type ThrottleConfig,
  type WorkerConfig,
} from './schema';
export { loadConfig, pgliteDir, ConfigError, type LoadOptions } from './load';
