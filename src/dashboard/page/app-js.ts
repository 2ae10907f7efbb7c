// The dashboard's script, served as /assets/app.js: plain browser JS, no framework, no build
// step. Its parts (one concept per file) share one function scope, in this order; the router
// part ends by starting the page.

import { DOM_JS } from './client-dom.js'
import { GRAPH_JS } from './client-graph.js'
import { JOB_JS } from './client-job.js'
import { JOBS_JS } from './client-jobs.js'
import { NET_JS } from './client-net.js'
import { ROUTER_JS } from './client-router.js'
import { VIEWS_JS } from './client-views.js'

export const APP_JS: string = ['(function () {', "'use strict'", NET_JS, DOM_JS, JOBS_JS, GRAPH_JS, JOB_JS, VIEWS_JS, ROUTER_JS, '})()', ''].join('\n')
