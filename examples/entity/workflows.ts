import {
  ApplicationFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  defineQuery,
  defineSignal,
  defineUpdate,
  proxyActivities,
  setHandler,
  workflowInfo,
} from 'chronicle/workflow';
import type * as activities from './activities.js';

const { recordLedgerEntry } = proxyActivities<typeof activities>({ startToCloseTimeout: '10s' });

export interface AccountState {
  readonly accountId: string;
  readonly balanceCents: number;
  /** Operations applied over the account's whole life, across runs. */
  readonly operations: number;
}

/** Deposits money; returns the new balance. */
export const depositUpdate = defineUpdate<number, [number]>('deposit');
/** Withdraws money; rejected (nothing recorded) when the balance would go negative. */
export const withdrawUpdate = defineUpdate<number, [number]>('withdraw');
export const balanceQuery = defineQuery<number>('balance');
export const closeSignal = defineSignal('close');

/**
 * An entity workflow: one long-lived account, changed only through updates (each returns the
 * new balance to its caller), read through a query. Every `operationsPerRun` operations it
 * continues as new, carrying its state, so its history stays short however long it lives;
 * it first waits for running handlers so no update is cut off.
 */
export async function account(state: AccountState, operationsPerRun = 100): Promise<AccountState> {
  let { balanceCents, operations } = state;
  let closed = false;
  let inThisRun = 0;

  setHandler(balanceQuery, () => balanceCents);
  setHandler(closeSignal, () => void (closed = true));
  setHandler(
    depositUpdate,
    async (amount) => {
      await recordLedgerEntry(state.accountId, amount);
      balanceCents += amount;
      operations++;
      inThisRun++;
      return balanceCents;
    },
    { validator: (amount) => validAmount(amount) },
  );
  setHandler(
    withdrawUpdate,
    async (amount) => {
      if (amount > balanceCents) throw ApplicationFailure.create({ type: 'InsufficientFunds', message: `balance ${balanceCents} < ${amount}` });
      await recordLedgerEntry(state.accountId, -amount);
      balanceCents -= amount;
      operations++;
      inThisRun++;
      return balanceCents;
    },
    {
      validator: (amount) => {
        validAmount(amount);
        if (amount > balanceCents) throw new Error(`insufficient funds: balance ${balanceCents}, withdrawal ${amount}`);
      },
    },
  );

  await condition(() => closed || inThisRun >= operationsPerRun || workflowInfo().continueAsNewSuggested);
  await condition(allHandlersFinished);
  const next: AccountState = { accountId: state.accountId, balanceCents, operations };
  if (closed) return next;
  return continueAsNew<typeof account>(next, operationsPerRun);
}

function validAmount(amount: number): void {
  if (!Number.isInteger(amount) || amount <= 0) throw new Error(`amount must be a positive whole number of cents, got ${amount}`);
}
