import type { ContinueAsNewCommand } from '../../../engine/protocol/commands.js';
import { brand } from '../errors.js';

/**
 * Thrown by `continueAsNew` (and functions made by `makeContinueAsNewFunc`): when it escapes
 * the workflow function (or a signal or update handler), the run closes with a ContinueAsNew
 * command and the engine starts the next run of the chain. Not a failure: do not catch it
 * (or rethrow it when you do).
 */
export class ContinueAsNew extends Error {
  readonly command: ContinueAsNewCommand;
  constructor(command: ContinueAsNewCommand) {
    super('Workflow continued as new');
    this.command = command;
  }
}
brand(ContinueAsNew, 'ContinueAsNew');
