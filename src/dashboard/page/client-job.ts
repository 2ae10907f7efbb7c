// Client script, part 5: a job's page — every JobView field, its exception, result, progress,
// why it is where it is (explain), its graph, the Related link and the actions on it.

export const JOB_JS = String.raw`
var TIME_FIELDS = { eta: 1, createdAt: 1, enqueuedAt: 1, startedAt: 1, doneAt: 1, cancelledAt: 1 }

function fieldValue(key, value) {
  if (value === null || value === undefined) return none()
  if (key === 'state') return stateBadge(value)
  if (TIME_FIELDS[key] && typeof value === 'number') return [timeCell(value), ' (' + value + ')']
  if ((key === 'dependsOn' || key === 'dependents') && Array.isArray(value)) {
    return value.length === 0 ? none() : value.map(function (uuid, i) { return [i ? ', ' : '', jobLink(uuid)] })
  }
  if (key === 'execTimeMs') return value + ' ms'
  if (key === 'progress') return progressText(value)
  if (key === 'excInfo') return h('pre', null, value)
  if (typeof value === 'object') return h('pre', null, json(value))
  return String(value)
}

function fieldList(job) {
  return h('dl', { class: 'fields' }, Object.keys(job).map(function (key) {
    return [h('dt', null, key), h('dd', null, fieldValue(key, job[key]))]
  }))
}

function untilText(ms) {
  return time(ms)
}

/** One explain() reason as a sentence; an unknown kind as its JSON, so nothing is hidden. */
function reasonText(r) {
  switch (r.kind) {
    case 'eta': return ['Waits for its ETA, ', untilText(r.untilMs), '.']
    case 'parents': return ['Waits for ' + plural(r.waitingFor.length, 'parent job') + ': ', jobLinks(r.waitingFor), '.', stuckParents(r.failed, 'Failed'), stuckParents(r.cancelled, 'Cancelled')]
    case 'channel-full': return 'Channel ' + r.channel + ' is full: ' + r.running + ' running of ' + r.capacity + '.'
    case 'paused': return 'Channel ' + r.channel + ' is paused.'
    case 'throttled': return 'Channel ' + r.channel + ' is throttled until ' + untilText(r.untilMs) + '.'
    case 'sequential-blocked': return ['Channel ' + r.channel + ' is sequential; ', jobLink(r.by), ' goes first.']
    case 'outranked': return plural(r.ahead, 'job') + ' ahead of it in channel ' + r.channel + '.'
    case 'no-handler': return 'No handler for ' + r.function + ' is registered in this process.'
    case 'workers-busy': return 'Every cluster member that runs ' + r.function + ' has all its workers busy.'
    case 'stopped': return 'This Wharf is not dispatching (not started, or stopped): no job starts until it is started.'
    // retry counts the tries made (each start adds one): the one that waits is the next.
    case 'retry-wait': return 'Try ' + (r.retry + 1) + ' (retry ' + r.retry + ') waits until ' + untilText(r.untilMs) + '.'
    case 'running': return 'Running since ' + untilText(r.sinceMs) + '.'
    case 'finished': return 'Finished: ' + r.state + (r.atMs === null || r.atMs === undefined ? ' (when is not recorded).' : ' at ' + untilText(r.atMs) + '.')
    default: return JSON.stringify(r)
  }
}

function jobLinks(uuids) {
  return uuids.map(function (u, i) { return [i ? ', ' : '', jobLink(u)] })
}

/** The parents in a state that is never done by itself: the job waits until someone acts. */
function stuckParents(uuids, state) {
  if (!uuids || uuids.length === 0) return null
  return [' ' + state + ' (it waits until they are requeued or set done): ', jobLinks(uuids), '.']
}

function explanation(answer) {
  if (answer.status === 501) return h('p', null, 'Explanation not available.')
  if (answer.status !== 200 || !answer.body) return h('p', { class: 'error' }, new ApiError(answer.status, answer.body).message)
  var reasons = answer.body.reasons || []
  if (reasons.length === 0) return h('p', null, 'Nothing holds it back: it is ' + answer.body.state + '.')
  return h('ul', null, reasons.map(function (r) { return h('li', null, reasonText(r)) }))
}

/** A link the page may follow: http(s) or same-site; anything else (javascript:…) is text. */
function safeHref(url) {
  try {
    var parsed = new URL(url, location.href)
    return parsed.protocol === 'http:' || parsed.protocol === 'https:' ? parsed.href : null
  } catch (e) {
    return null
  }
}

function relatedLink(related) {
  var text = 'Related' + (related.label ? ': ' + related.label : '')
  var href = safeHref(related.url)
  return h('p', { class: 'related' }, href === null ? text + ' (' + related.url + ')' : h('a', { href: href, 'data-key': 'related' }, text))
}

/** 40% — its message (the message is the handler's text, shown as text). */
function progressText(progress) {
  return Math.round(progress.fraction * 100) + '%' + (progress.message ? ' — ' + progress.message : '')
}

function progressBlock(progress) {
  return h('p', { class: 'progress' },
    h('progress', { max: 1, value: progress.fraction, 'aria-label': 'Progress' }), ' ', progressText(progress))
}

function exceptionBlock(job) {
  var s = section('Exception')
  append(s, [h('p', null, h('strong', null, job.excName || 'Error'), job.excMessage ? ': ' + job.excMessage : ''),
    job.excInfo ? h('pre', { class: 'traceback' }, job.excInfo) : null])
  return s
}

function jobSections(answer, explained, graph, out) {
  var job = answer.job
  var s = []
  // A failed job's time is not a JobView field: the API gives it beside the job.
  var failedAt = job.state === 'failed' && typeof answer.failedAt === 'number' ? [' ', h('span', { class: 'failed-at' }, 'Failed at ', timeCell(answer.failedAt))] : null
  s.push(h('p', { class: 'job-head' }, h('span', { class: 'mono' }, job.uuid), ' ', stateBadge(job.state), failedAt))
  if (!info.readOnly) s.push(h('div', { class: 'toolbar', role: 'group', 'aria-label': 'Actions on this job' },
    actionButtons(function (kind) { act(kind, [job.uuid], out) }, job.state)), out)
  if (answer.related) s.push(relatedLink(answer.related))
  if (answer.relatedError) s.push(h('p', { class: 'error' }, 'No Related link: ' + new ApiError(500, { error: answer.relatedError }).message))
  if (job.progress) s.push(progressBlock(job.progress))
  if (job.excName || job.excMessage || job.excInfo) s.push(exceptionBlock(job))
  var result = section('Result')
  s.push(append(result, [job.result === null || job.result === undefined ? none() : h('pre', null, json(job.result))]))
  s.push(append(section('Explanation'), [explanation(explained)]))
  if (graph) s.push(append(section('Graph'), [graphSvg(graph, job.uuid)]))
  s.push(append(section('Fields'), [fieldList(job)]))
  return s
}

function jobView(route) {
  var heading = h('h2', null, 'Job ' + route.uuid)
  var body = h('div', { class: 'job' })
  var out = h('div', { class: 'action-result', role: 'status' })
  var path = 'jobs/' + encodeURIComponent(route.uuid)

  async function refresh() {
    var answer = await request(path)
    if (answer.status === 404 || answer.status === 400) {
      heading.textContent = 'No such job'
      body.replaceChildren(h('p', null, 'No job with uuid ' + route.uuid + '.'))
      return
    }
    if (answer.status !== 200) throw new ApiError(answer.status, answer.body)
    var job = answer.body.job
    var more = await Promise.all([request(path + '/explain'),
      // Only what the drawing needs, and nothing of a graph too large to draw.
      job.graphUuid ? api('graphs/' + encodeURIComponent(job.graphUuid) + '?view=outline&max=' + GRAPH_NODES_MAX) : null])
    if (sameAsShown(body, [answer.body, more[0], more[1]])) return
    heading.textContent = 'Job: ' + job.description
    document.title = job.description + ' — Wharf'
    replaceKeepingFocus(body, jobSections(answer.body, more[0], more[1], out))
  }
  return { title: 'Job', el: h('div', null, heading, body), refresh: refresh }
}
`
