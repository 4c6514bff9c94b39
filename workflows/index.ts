// Every workflow type the lifecycle worker registers.
export { systemCheck } from './system-check';
