/** Devices, collections, settings profiles, credentials, directory objects, OTP hashes, results. */
export type CoreTables = Record<never, never>;
