// Every command of the `wharf` CLI, in the order `wharf help` lists them.

import { cancelCommand, doneCommand, requeueCommand } from './action-commands.js'
import { backupCommand, restoreCommand } from './backup-commands.js'
import { clusterCommand } from './cluster-command.js'
import type { Command } from './command.js'
import { cronsCommand } from './crons-command.js'
import { batchesCommand } from './batches-command.js'
import { dashboardCommand } from './dashboard-command.js'
import { explainCommand } from './explain-command.js'
import { jobsCommand } from './jobs-command.js'
import { purgeCommand, removeCommand } from './removal-commands.js'
import { showCommand } from './show-command.js'
import { statsCommand } from './stats-command.js'
import { verifyCommand } from './verify-command.js'

export const COMMANDS: ReadonlyMap<string, Command> = new Map(
  [jobsCommand, showCommand, explainCommand, requeueCommand, cancelCommand, doneCommand, removeCommand, purgeCommand, statsCommand, cronsCommand, batchesCommand, clusterCommand, verifyCommand, backupCommand, restoreCommand, dashboardCommand].map(
    (c) => [c.name, c] as const,
  ),
)
