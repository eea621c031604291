import type { RunCore } from './core.js';

/** Marker name of a patch, as sdk-core names it. */
export const PATCH_MARKER = 'core_patch';

/**
 * The run's patch decisions (plan §10). Live, a patch is taken (true) and recorded once as a
 * `core_patch` marker; on replay it is taken only if the history recorded that marker, which
 * the worker announces with a NotifyHasPatch job at the start of the batch that holds it.
 * Every decision is memoised per patch id for the life of the run, replay and live alike,
 * so a run that replayed without the patch keeps the old code path after it goes live.
 */
export class Patches {
  private readonly notified = new Set<string>();
  private readonly decided = new Map<string, boolean>();

  constructor(private readonly core: RunCore) {}

  notify(patchId: string): void {
    this.notified.add(patchId);
  }

  /** `patched(id)` (deprecated false) or `deprecatePatch(id)` (deprecated true). */
  check(patchId: string, deprecated: boolean): boolean {
    const known = this.decided.get(patchId);
    if (known !== undefined) return known;
    const taken = !this.core.isReplaying || this.notified.has(patchId);
    if (taken) {
      this.core.assertMayIssueCommands(deprecated ? 'deprecatePatch()' : 'patched()');
      this.core.pushCommand({ kind: 'RecordMarker', markerName: PATCH_MARKER, details: { patchId, deprecated } });
    }
    this.decided.set(patchId, taken);
    return taken;
  }
}
