/**
 * `switchyard-lb/testing`: loopback backends that misbehave on command, and the manual clock, so that an
 * application can test its own failover the way switchyard tests its own. See `docs/testing.md`.
 */
export { ManualClock, systemClock } from '../clock.js';
export type { Clock, TimerHandle } from '../clock.js';
export { BEHAVIOUR_KINDS, resolveBehaviour } from './behaviour.js';
export type { Behaviour, BehaviourKind, BehaviourSpec } from './behaviour.js';
export { FaultBackend, faultBackend } from './fault-backend.js';
export type { FaultBackendEvents, FaultBackendOptions, FlapOptions, Flapping } from './fault-backend.js';
