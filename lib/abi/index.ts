export * from './layouts';
export * from './dmops';
export * from './ioctls';
export * from './hypercalls';
export * from './domids';
export * from './errno';
export * from './flask';
export * from './evtchn';
