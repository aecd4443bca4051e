// Run a function on a later turn of the event loop, as a thread-pool
// completion arrives: how the simulated kernel answers an async call, and
// how a handle answers the calls it makes async only for the API's shape.

export function later<T>(fn: () => T): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    setImmediate(() => {
      try {
        resolve(fn());
      } catch (e) {
        reject(e);
      }
    });
  });
}
