// Module top-level code that throws: bundling must fail with CHR_WORKFLOW_BUNDLE_FAILED.
export async function neverRegistered(): Promise<void> {}

throw new Error('configuration missing at module load');
