/** SQLSTATE of "deadlock detected". */
export const DEADLOCK_SQLSTATE = '40P01';

const MAX_ATTEMPTS = 5;

let retried = 0;

/** How many transactions this process retried after a deadlock (RELIABILITY I9 counts them). */
export function deadlockRetryCount(): number {
  return retried;
}

/**
 * Runs a transaction (`fn` must be the whole transaction: one autocommit statement, or a
 * `db.transaction()`), again after a short random pause if Postgres aborted it as a
 * deadlock victim. Safe because the victim rolled back entirely. Deadlocks arise between
 * transactions that act on two runs at once in opposite orders (a parent closing while its
 * child closes, two runs signalling each other; see migrations/0004); they are rare and
 * Postgres breaks each within deadlock_timeout.
 */
export async function retryOnDeadlock<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if ((err as { code?: string }).code !== DEADLOCK_SQLSTATE || attempt >= MAX_ATTEMPTS) throw err;
      retried++;
      // Jittered so the two transactions do not collide again in lock step.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 20 * attempt));
    }
  }
}
