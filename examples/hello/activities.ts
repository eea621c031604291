/** Activities run in the worker process, outside the sandbox: any side effect belongs here. */
export async function greet(name: string): Promise<string> {
  return `Hello, ${name}!`;
}
