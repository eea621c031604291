/** Appends an entry to the account's ledger (a database write in real life). */
export async function recordLedgerEntry(accountId: string, amountCents: number): Promise<string> {
  return `${accountId}:${amountCents >= 0 ? '+' : ''}${amountCents}`;
}
