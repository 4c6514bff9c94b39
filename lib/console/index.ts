/**
 * Console operations on the devices amtflow manages (spec OPS1–OPS3): discovery, power control,
 * redirection sessions. No Temporal here: activities call discovery and power; redirection sessions
 * are brokered by the front door (docs/architecture.md, "Console sessions").
 */
export * from './errors';
export * from './device-access';
export * from './discovery';
export * from './power';
export * from './sessions';
