// The dashboard's script, served as /assets/app.js: plain browser JS, no framework, no build
// step. Its parts (one concept per file) share one function scope, in this order; the router
// part ends by starting the page. The parts' comments are for their readers here, not for every
// browser: whole comment lines are left out of what is served (withoutCommentLines).

import { ACTIONS_JS } from './client-actions.js'
import { DOM_JS } from './client-dom.js'
import { GRAPH_JS } from './client-graph.js'
import { HELD_JS } from './client-held.js'
import { JOB_JS } from './client-job.js'
import { JOBS_JS } from './client-jobs.js'
import { NET_JS } from './client-net.js'
import { ROUTER_JS } from './client-router.js'
import { VIEWS_JS } from './client-views.js'

/**
 * `source` without its comment lines: a line that starts (after spaces) with `//`, and a block
 * from a line that starts with `/*` to the line that ends it. The parts are written so that no
 * other line starts so (no multi-line string or template, no regular expression at the start of
 * a line); the page test parses the result.
 */
export function withoutCommentLines(source: string): string {
  const kept: string[] = []
  let inBlock = false
  for (const line of source.split('\n')) {
    const text = line.trim()
    if (inBlock) inBlock = !text.endsWith('*/')
    else if (text.startsWith('/*')) inBlock = !text.endsWith('*/')
    else if (!text.startsWith('//')) kept.push(line)
  }
  return kept.join('\n')
}

export const APP_JS: string = withoutCommentLines(
  ['(function () {', "'use strict'", NET_JS, DOM_JS, JOBS_JS, ACTIONS_JS, HELD_JS, GRAPH_JS, JOB_JS, VIEWS_JS, ROUTER_JS, '})()', ''].join('\n'),
)
