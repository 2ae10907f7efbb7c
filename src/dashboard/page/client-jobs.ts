// Client script, part 3: the Jobs view — filters (state, channel, function, search), the table,
// selection and the bulk actions (Remove asks to confirm first), newest-first paging (shared with
// the Batches view: newestFirst, pager). Filters and the page cursor live in the query string, so
// a filtered view is a link. Search: a whole uuid
// (16+ letters, digits, '-' or '_') shows that job wherever it is; any other text keeps the loaded
// page's rows whose uuid starts with it or whose description contains it (case-insensitive).

export const JOBS_JS = String.raw`
var PAGE = 50
var STATES = ['wait_dependencies', 'pending', 'enqueued', 'started', 'done', 'cancelled', 'failed']
var UUID_LIKE = /^[0-9A-Za-z_-]{16,}$/

function plural(n, word) {
  return n + ' ' + word + (n === 1 ? '' : 's')
}

/** The current query string with changes applied ('' deletes a key), as a path under the base. */
function pathWith(changes) {
  var params = new URLSearchParams(location.search)
  for (var key in changes) {
    if (changes[key]) params.set(key, changes[key])
    else params.delete(key)
  }
  var search = params.toString()
  return location.pathname.slice(BASE.length).replace(/^$/, '/') + (search ? '?' + search : '')
}

/** A page of /api/<kind>, newest first, from f.older or f.newer: { items, older (null: none
 * older), newest }. One more than a page is read: Older never leads to an empty page. */
async function newestFirst(kind, query, f) {
  var q = new URLSearchParams(query)
  q.set('limit', String(PAGE + 1))
  q.set('order', f.newer ? 'asc' : 'desc')
  if (f.newer || f.older) q.set('after', f.newer || f.older)
  var body = await api(kind + '?' + q.toString())
  var items = body[kind]
  var size = f.newer || f.older ? PAGE : firstPageSize(items, f)
  var beyond = items.length > size
  if (f.newer && !beyond) {
    // Nothing newer than a page: the first page, live. Jobs that arrived since the pages were cut
    // leave fewer than a page newer than this one: the first page holds only those (f.since; it
    // fills as more arrive), not the newest page, whose older rows were on the page left.
    f.since = items.length ? f.newer : ''
    f.newer = ''
    history.replaceState(null, '', BASE + pathWith({ newer: '' }))
    return newestFirst(kind, query, f)
  }
  // The first item past the page (newest first): the page is what lies newer than it.
  var floor = f.newer ? f.newer : beyond ? items[size].uuid : null
  items = items.slice(0, size)
  if (f.newer) items.reverse()
  return { items: items, older: f.newer || beyond ? items[items.length - 1].uuid : null, newest: items.length ? items[0].uuid : null,
    floor: floor, failedAt: body.failedAt || {} }
}

/** How many of items (the newest first) the first page shows: a page, or after Newer only those
 * newer than f.since (the page left). Once none is (removed), or a page is, f.since is dropped. */
function firstPageSize(items, f) {
  if (!f.since) return PAGE
  var newer = 0
  while (newer < items.length && items[newer].uuid > f.since) newer++
  if (newer > 0 && newer < PAGE) return newer
  f.since = ''
  return PAGE
}

/** Newer / Older for f (and the address); set(newest, older) per page. An emptied page has no
 * newest: Newer goes to the first page. onGo, when given, is called as the page changes. */
function pager(f, onGo) {
  function go(key, uuid) {
    var changes = { older: '', newer: '' }
    changes[key] = uuid
    history.pushState(null, '', BASE + pathWith(changes))
    f.older = key === 'older' ? uuid : ''
    f.newer = key === 'newer' ? uuid : ''
    f.since = ''
    if (onGo) onGo()
    refreshView()
  }
  var newer = h('button', { type: 'button', onclick: function () { go('newer', newer.cursor || '') } }, 'Newer')
  var older = h('button', { type: 'button', onclick: function () { go('older', older.cursor) } }, 'Older')
  return {
    buttons: [newer, older],
    set: function (newest, next) {
      newer.cursor = newest
      older.cursor = next
      newer.disabled = !(f.older || f.newer)
      older.disabled = next === null
    },
  }
}

/** When the job reached its finished state. By state: a done job cancelled later keeps its doneAt
 * beside its cancelledAt (and the other way round). A failed job's time is not a JobView field:
 * the API gives it beside the page (failedAt, by uuid). */
var FINISHED_AT = { done: 'doneAt', cancelled: 'cancelledAt' }

function finishedAt(job, failedAt) {
  var t = job.state === 'failed' ? failedAt[job.uuid] : FINISHED_AT[job.state] ? job[FINISHED_AT[job.state]] : undefined
  return typeof t === 'number' ? t : undefined
}

function jobCells(job, failedAt) {
  return [
    h('td', null, jobLink(job.uuid)),
    h('td', { class: 'desc' }, job.description),
    h('td', null, job.model + '.' + job.method),
    h('td', null, job.channel),
    h('td', null, stateBadge(job.state)),
    h('td', { class: 'num' }, job.priority),
    h('td', { class: 'num' }, tries(job)),
    h('td', null, timeCell(job.eta, true)),
    h('td', null, timeCell(job.createdAt, true)),
    h('td', null, timeCell(finishedAt(job, failedAt), true)),
  ]
}

/** Tries made of those allowed: maxRetries 0 retries forever (queue_job's rule; the CLI's '∞'). */
function tries(job) {
  return job.retry + '/' + (job.maxRetries === 0 ? '∞' : job.maxRetries)
}

function searchFilter(text) {
  var q = text.toLowerCase()
  return function (job) {
    return job.uuid.toLowerCase().indexOf(q) === 0 || job.description.toLowerCase().indexOf(q) >= 0
  }
}

function jobsView(route, params) {
  var f = {
    state: params.get('state') || '', channel: params.get('channel') || '', fn: params.get('function') || '',
    q: params.get('q') || '', older: params.get('older') || '', newer: params.get('newer') || '',
    batch: params.get('batch') || '', since: '',
  }
  // The ticked jobs, by uuid: only the operator changes it (ticks, a new filter or page, an
  // action applied), never a refresh — what a bulk action applies to is what was ticked.
  var selected = new Set()
  var page = { jobs: [], next: null, newest: null, floor: null, failedAt: {}, arrived: 0, more: false, kept: [], first: false }
  var shown = []

  function navigated() {
    selected.clear()
    notes.replaceChildren()
  }

  function setFilter(key, value) {
    var changes = { older: '', newer: '' }
    changes[key === 'fn' ? 'function' : key] = value
    history.pushState(null, '', BASE + pathWith(changes))
    f[key] = value
    f.older = ''
    f.newer = ''
    f.since = ''
    navigated()
    refreshView()
  }

  var stateSelect = labelledSelect('f-state', 'State', [['', 'All states']].concat(STATES.map(function (s) { return [s, s.replace('_', ' ')] })), f.state,
    function (e) { setFilter('state', e.target.value) })
  var channelSelect = labelledSelect('f-channel', 'Channel', [['', 'All channels']], f.channel, function (e) { setFilter('channel', e.target.value) })
  var functionSelect = labelledSelect('f-function', 'Function', [['', 'All functions']], f.fn, function (e) { setFilter('fn', e.target.value) })
  var searchTimer = null
  var search = h('input', { id: 'f-q', type: 'search', name: 'q', value: f.q, placeholder: 'uuid or description', oninput: function (e) {
    clearTimeout(searchTimer)
    searchTimer = setTimeout(function () {
      f.q = e.target.value
      history.replaceState(null, '', BASE + pathWith({ q: f.q }))
      refreshView()
    }, 200)
  } })
  var selectAll = h('input', { type: 'checkbox', 'aria-label': 'Select all', 'data-key': 'all', onchange: function (e) {
    shown.forEach(function (job) { if (e.target.checked) selected.add(job.uuid); else selected.delete(job.uuid) })
    selectionChanged()
  } })
  var out = h('div', { class: 'action-result', role: 'status' })
  var notes = h('div', { class: 'held-note', role: 'status' })
  function deselect(uuids) {
    uuids.forEach(function (uuid) { selected.delete(uuid) })
    selectionChanged()
  }
  var buttons = actionButtons(function (kind) { act(kind, Array.from(selected), out, deselect) }).concat(
    h('button', { type: 'button', 'data-action': 'remove', 'data-key': 'act:remove', onclick: function () { confirmRemove(Array.from(selected), out, deselect) } }, 'Remove'))
  var paging = pager(f, navigated)
  var headers = ['UUID', 'Description', 'Function', 'Channel', 'State', 'Priority#', 'Tries#', 'ETA', 'Created', 'Finished']
  var grid = table('Jobs', info.readOnly ? headers : [selectAll].concat(headers), [])
  var tbody = grid.querySelector('tbody')
  var summary = h('p', { class: 'summary' })

  /** The operator ticked or unticked: a removal waiting for its confirmation was of the
   * selection as it was, so it is withdrawn (Remove asks again, about the jobs ticked now). With
   * nothing ticked, rows held still let the jobs that arrived meanwhile in; a row kept because it
   * was ticked goes once unticked. */
  function selectionChanged() {
    if (out.querySelector('.confirm') !== null) out.replaceChildren()
    renderRows()
    var unticked = page.kept.some(function (uuid) { return !selected.has(uuid) })
    if (unticked || (selected.size === 0 && page.arrived > 0)) refreshView()
  }

  function renderRows() {
    var kept = new Set(page.kept)
    var rows = shown.map(function (job) {
      var box = h('input', { type: 'checkbox', 'aria-label': 'Select ' + job.uuid, 'data-key': 'sel:' + job.uuid, checked: selected.has(job.uuid),
        onchange: function (e) { if (e.target.checked) selected.add(job.uuid); else selected.delete(job.uuid); selectionChanged() } })
      var cells = jobCells(job, page.failedAt)
      if (kept.has(job.uuid)) append(cells[1], [h('span', { class: 'kept' }, ' (ticked, kept: no longer in this list)')])
      return h('tr', { 'data-uuid': job.uuid, class: kept.has(job.uuid) ? 'kept' : null }, info.readOnly ? null : h('td', null, box), cells)
    })
    var empty = !f.q.trim() ? 'No jobs match.'
      : 'No job on this page matches the search' + (page.next === null ? '.' : '; Older pages may hold some.')
    if (rows.length === 0) rows = [emptyRow(headers.length + 1, empty)]
    replaceKeepingFocus(tbody, rows)
    var count = shown.filter(function (job) { return selected.has(job.uuid) }).length
    selectAll.checked = count > 0 && count === shown.length
    selectAll.indeterminate = count > 0 && count < shown.length
    offerActions(buttons, selected, page.jobs)
    paging.set(page.newest, page.next)
    var hidden = selected.size - count
    summary.textContent = plural(shown.length, 'job') + ' shown' + (selected.size ? ', ' + selected.size + ' selected' : '') +
      (hidden ? ' (' + hidden + ' not shown)' : '') + '.'
    arrivedNote(notes, page)
  }

  async function loadJobs() {
    var q = f.q.trim()
    if (UUID_LIKE.test(q)) {
      var one = await api('jobs/' + encodeURIComponent(q), undefined, [400, 404])
      if (one && one.job) {
        var failedAt = {}
        if (typeof one.failedAt === 'number') failedAt[one.job.uuid] = one.failedAt
        return { jobs: [one.job], next: null, newest: null, floor: null, failedAt: failedAt, arrived: 0, more: false, kept: [], first: false }
      }
    }
    // The table shows no args, result or traceback: the outline of each job leaves them out.
    var query = new URLSearchParams({ view: 'outline' })
    if (f.state) query.set('state', f.state)
    if (f.channel) query.set('channel', f.channel)
    if (f.fn) query.set('function', f.fn)
    if (f.batch) query.set('batchUuid', f.batch)
    // Jobs ticked on the first page: it holds still, new jobs are counted, not slid in under them.
    // (Not a page of one job found by its uuid: that one has no place among the others.)
    var held = selected.size > 0 && !f.older && !f.newer && page.first && page.jobs.length > 0
    var found = held ? await heldPage(query, page) : await newestFirst('jobs', query, f)
    var keeping = await keepTicked(found.items, page.jobs, selected)
    keeping.gone.forEach(function (uuid) { selected.delete(uuid) })
    if (keeping.gone.length) goneNote(notes, keeping.gone)
    for (var uuid in keeping.failedAt) found.failedAt[uuid] = keeping.failedAt[uuid]
    return { jobs: keeping.jobs, next: found.older, newest: found.newest, floor: found.floor, failedAt: found.failedAt,
      arrived: found.arrived || 0, more: found.more || false, kept: keeping.kept, first: !f.older && !f.newer }
  }

  async function refresh() {
    var answers = await Promise.all([api('channels'), api('functions'), loadJobs()])
    var channels = answers[0].channels.map(function (c) { return c.name })
    var functions = answers[1].functions.map(function (fn) { return fn.name })
    if (f.channel && channels.indexOf(f.channel) < 0) channels.push(f.channel)
    if (f.fn && functions.indexOf(f.fn) < 0) functions.push(f.fn)
    setOptions(channelSelect.lastChild, [['', 'All channels']].concat(channels.map(function (c) { return [c, c] })), f.channel)
    setOptions(functionSelect.lastChild, [['', 'All functions']].concat(functions.map(function (n) { return [n, n] })), f.fn)
    stateSelect.lastChild.value = f.state
    page = answers[2]
    // The search keeps rows of the page shown; ticked rows it hides stay ticked (counted as not shown).
    var q = f.q.trim()
    var rows = q ? page.jobs.filter(searchFilter(q)) : page.jobs
    // Unchanged: the rows, and text selected in them, stay.
    if (sameAsShown(tbody, [rows, page.failedAt, page.kept, page.next, page.newest, f.older, f.newer])) {
      renderSummaryOnly()
      return
    }
    shown = rows
    renderRows()
  }

  function renderSummaryOnly() {
    arrivedNote(notes, page)
    offerActions(buttons, selected, page.jobs)
  }

  var batchFilter = f.batch ? h('p', { class: 'filter-note' }, 'Jobs of batch ', h('span', { class: 'mono' }, f.batch), ' ',
    h('button', { type: 'button', onclick: function () { batchFilter.remove(); setFilter('batch', '') } }, 'All jobs')) : null
  var el = h('div', { class: 'jobs' },
    h('h2', null, 'Jobs'), batchFilter,
    h('form', { class: 'filters', role: 'search', 'aria-label': 'Filter jobs', onsubmit: function (e) { e.preventDefault() } },
      stateSelect, channelSelect, functionSelect, h('span', { class: 'field' }, h('label', { for: 'f-q' }, 'Search'), search)),
    info.readOnly ? null : h('div', { class: 'toolbar', role: 'group', 'aria-label': 'Actions on the selected jobs' }, buttons),
    out, notes, grid,
    h('div', { class: 'pager' }, summary, paging.buttons))
  return { title: 'Jobs', el: el, refresh: refresh }
}
`
