// Client script, part 3b: the Jobs view's ticked rows follow their jobs, not row positions. While
// jobs are ticked on the first page it holds still: jobs that arrive are counted, not slid in
// above the ticked rows (heldPage). A ticked job that leaves the rows (its new state is outside
// the filter) stays in its place, marked, until the operator unticks it (keepTicked); one that
// no longer exists leaves the selection, and the page says so. The bulk buttons are offered when
// some ticked job is in a state they act on (offerActions).

export const HELD_JS = String.raw`
/** The first page as it was shown (page: the last one), each row as it is now: the jobs newer
 * than the page's floor up to the newest row shown before. { items, older, newest, floor,
 * failedAt, arrived: how many newer jobs were read and left out, more: whether there may be more }. */
async function heldPage(query, page) {
  var q = new URLSearchParams(query)
  q.set('order', 'asc')
  // Room for the page and as many jobs again that arrived: beyond that, 'or more'.
  q.set('limit', String(2 * PAGE))
  if (page.floor) q.set('after', page.floor)
  var body = await api('jobs?' + q.toString())
  var before = new Set(page.jobs.map(function (job) { return job.uuid }))
  var last = -1
  body.jobs.forEach(function (job, i) { if (before.has(job.uuid)) last = i })
  var items = body.jobs.slice(0, last + 1).reverse()
  return {
    items: items,
    older: page.floor === null ? null : items.length ? items[items.length - 1].uuid : page.next,
    newest: items.length ? items[0].uuid : page.newest,
    floor: page.floor,
    failedAt: body.failedAt || {},
    arrived: body.jobs.length - items.length,
    more: body.jobs.length === 2 * PAGE,
  }
}

/** jobs, with each ticked job of before that is missing from them read again and put back after
 * the row it followed. { jobs, kept: uuids put back, gone: ticked uuids no job has any more,
 * failedAt: of those put back }. */
async function keepTicked(jobs, before, selected) {
  var now = new Set(jobs.map(function (job) { return job.uuid }))
  var missing = before.filter(function (job) { return selected.has(job.uuid) && !now.has(job.uuid) })
  var result = { jobs: jobs, kept: [], gone: [], failedAt: {} }
  if (missing.length === 0) return result
  var answers = await Promise.all(missing.map(function (job) { return request('jobs/' + encodeURIComponent(job.uuid)) }))
  var found = new Map()
  answers.forEach(function (answer, i) {
    var uuid = missing[i].uuid
    if (answer.status === 404) return result.gone.push(uuid)
    if (answer.status !== 200) throw new ApiError(answer.status, answer.body)
    found.set(uuid, answer.body.job)
    if (typeof answer.body.failedAt === 'number') result.failedAt[uuid] = answer.body.failedAt
  })
  var rows = jobs.slice()
  before.forEach(function (job, i) {
    if (!found.has(job.uuid)) return
    var at = 0
    for (var k = i - 1; k >= 0; k--) {
      var prev = rows.findIndex(function (row) { return row.uuid === before[k].uuid })
      if (prev >= 0) { at = prev + 1; break }
    }
    rows.splice(at, 0, found.get(job.uuid))
    result.kept.push(job.uuid)
  })
  result.jobs = rows
  return result
}

/** Each bulk button (but Remove, which says per job why it refuses) is offered when a ticked job
 * is in a state it acts on, or in a state not known here. */
function offerActions(buttons, selected, jobs) {
  var stateOf = new Map(jobs.map(function (job) { return [job.uuid, job.state] }))
  buttons.forEach(function (button) {
    var kind = button.getAttribute('data-action')
    button.disabled = selected.size === 0
    if (kind === 'remove' || selected.size === 0) return setOffered(button, true)
    var some = Array.from(selected).some(function (uuid) { return !stateOf.has(uuid) || actsOn(kind, stateOf.get(uuid)) })
    setOffered(button, some, 'None of the selected jobs is in a state this action applies to')
  })
}

function arrivedNote(notes, page) {
  var old = notes.querySelector('.arrived')
  if (old) old.remove()
  if (!page.arrived) return
  append(notes, [h('p', { class: 'arrived' }, plural(page.arrived, 'newer job') + (page.more ? ' or more' : '') +
    ' arrived: the rows hold still while jobs are ticked. Untick them to see the newest.')])
}

function goneNote(notes, uuids) {
  append(notes, [h('p', { class: 'gone' }, plural(uuids.length, 'ticked job') + ' no longer ' + (uuids.length === 1 ? 'exists' : 'exist') +
    ' (removed meanwhile) and ' + (uuids.length === 1 ? 'is' : 'are') + ' no longer selected: ', uuids.join(', '))])
}
`
