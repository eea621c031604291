/** Processes one item (here: squares it). */
export async function processItem(item: number): Promise<number> {
  return item * item;
}
