/**
 * Resolves or rejects as `promise` does, or rejects with "timed out after `ms` ms waiting for `what`" first:
 * a hang guard for tests, never a measurement (`what` may be a function, to say what was seen by then). The
 * timer is cleared either way.
 */
export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string | (() => string)): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${typeof what === 'string' ? what : what()}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
