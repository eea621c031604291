// Imports a Node built-in: bundling must fail with CHR_WORKFLOW_BUNDLE_FORBIDDEN_IMPORT.
import { readFileSync } from 'node:fs';

export async function readsAFile(): Promise<string> {
  return readFileSync('/etc/hostname', 'utf8');
}
