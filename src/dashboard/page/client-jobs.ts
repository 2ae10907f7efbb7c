// Client script, part 3: the Jobs view — filters (state, channel, function, search), the table,
// selection and the bulk actions (Remove asks to confirm first), newest-first paging (shared with
// the Batches view: newestFirst, pager). Filters and the page cursor live in the query string, so
// a filtered view is a link. Search: a whole uuid
// (16+ letters, digits, '-' or '_') shows that job wherever it is; any other text keeps the loaded
// page's rows whose uuid starts with it or whose description contains it (case-insensitive).

export const JOBS_JS = String.raw`
var PAGE = 50
var STATES = ['wait_dependencies', 'pending', 'enqueued', 'started', 'done', 'cancelled', 'failed']
var ACTIONS = [['requeue', 'Requeue', 'Requeued'], ['cancel', 'Cancel', 'Cancelled'], ['done', 'Set done', 'Marked done']]
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
  var items = (await api(kind + '?' + q.toString()))[kind]
  var beyond = items.length > PAGE
  if (f.newer && !beyond) {
    // Nothing newer than a page: the first page, live.
    f.newer = ''
    history.replaceState(null, '', BASE + pathWith({ newer: '' }))
    return newestFirst(kind, query, f)
  }
  items = items.slice(0, PAGE)
  if (f.newer) items.reverse()
  return { items: items, older: f.newer || beyond ? items[items.length - 1].uuid : null, newest: items.length ? items[0].uuid : null }
}

/** Newer / Older for f (and the address); set(newest, older) per page. An emptied page has no
 * newest: Newer goes to the first page. */
function pager(f) {
  function go(key, uuid) {
    var changes = { older: '', newer: '' }
    changes[key] = uuid
    history.pushState(null, '', BASE + pathWith(changes))
    f.older = key === 'older' ? uuid : ''
    f.newer = key === 'newer' ? uuid : ''
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

/** POST an action for uuids; out shows how many were applied and each refusal by uuid. */
async function act(kind, uuids, out) {
  var action = ACTIONS.filter(function (a) { return a[0] === kind })[0]
  out.replaceChildren(h('p', null, action[1] + '…'))
  try {
    var body = await api('actions/' + kind, { uuids: uuids }, [409])
    var refused = body.results.filter(function (r) { return !r.ok })
    var applied = body.results.length - refused.length
    // replaceChildren would write a null child as the text "null": append skips it.
    out.replaceChildren()
    append(out, [
      h('p', null, action[2] + ' ' + plural(applied, 'job') + (refused.length ? '; ' + refused.length + ' refused:' : '.')),
      refused.length === 0 ? null : h('ul', { class: 'refusals' }, refused.map(function (r) {
        return h('li', null, jobLink(r.uuid), ': ', r.error ? r.error.message : 'refused')
      })),
    ])
  } catch (error) {
    out.replaceChildren(h('p', { class: 'error' }, error.message))
  }
  refreshView()
}

/** Remove deletes for good: the selection is only removed once the operator confirms it here.
 * The server refuses the whole call if one job is not done, cancelled or failed. */
function confirmRemove(uuids, out) {
  out.replaceChildren(h('div', { class: 'confirm', role: 'group', 'aria-label': 'Confirm removal' },
    h('p', null, 'Remove ' + plural(uuids.length, 'job') + ' for good? Only done, cancelled and failed jobs can be removed; this cannot be undone.'),
    h('button', { type: 'button', 'data-key': 'confirm-remove', onclick: function () { removeJobs(uuids, out) } }, 'Confirm remove'),
    h('button', { type: 'button', 'data-key': 'keep', onclick: function () { out.replaceChildren() } }, 'Keep them')))
}

async function removeJobs(uuids, out) {
  out.replaceChildren(h('p', null, 'Removing…'))
  try {
    var body = await api('actions/remove', { uuids: uuids }, [409])
    out.replaceChildren(body.error
      ? h('p', { class: 'error' }, 'Removed nothing: ' + body.error.message)
      : h('p', null, 'Removed ' + plural(body.removed, 'job') + '.'))
  } catch (error) {
    out.replaceChildren(h('p', { class: 'error' }, error.message))
  }
  refreshView()
}

/** Where an action changes nothing (requeue() skips a waiting job): a job page does not offer it. */
var NO_OP_IN = { requeue: 'wait_dependencies', cancel: 'cancelled', done: 'done' }

/** state: a job page's job. aria-disabled, not disabled: a button pressed keeps the focus. */
function actionButtons(onAct, state) {
  return ACTIONS.map(function (a) {
    var noOp = NO_OP_IN[a[0]] === state
    return h('button', { type: 'button', 'data-action': a[0], 'data-key': 'act:' + a[0], 'aria-disabled': noOp ? 'true' : null,
      title: noOp ? 'Nothing to do: the job is ' + state.replace('_', ' ') : null, onclick: function () { if (!noOp) onAct(a[0]) } }, a[1])
  })
}

/** When the job reached its finished state (failedAt, where the API gives it). By state: a done
 * job cancelled later keeps its doneAt beside its cancelledAt (and the other way round). */
var FINISHED_AT = { done: 'doneAt', cancelled: 'cancelledAt', failed: 'failedAt' }

function finishedAt(job) {
  var t = FINISHED_AT[job.state] ? job[FINISHED_AT[job.state]] : undefined
  return typeof t === 'number' ? t : undefined
}

function jobCells(job) {
  return [
    h('td', null, jobLink(job.uuid)),
    h('td', { class: 'desc' }, job.description),
    h('td', null, job.model + '.' + job.method),
    h('td', null, job.channel),
    h('td', null, stateBadge(job.state)),
    h('td', { class: 'num' }, job.priority),
    h('td', { class: 'num' }, job.retry + '/' + job.maxRetries),
    h('td', null, timeCell(job.eta, true)),
    h('td', null, timeCell(job.createdAt, true)),
    h('td', null, timeCell(finishedAt(job), true)),
  ]
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
    batch: params.get('batch') || '',
  }
  var selected = new Set()
  var shown = []
  var next = null
  var newest = null

  function setFilter(key, value) {
    var changes = { older: '', newer: '' }
    changes[key === 'fn' ? 'function' : key] = value
    history.pushState(null, '', BASE + pathWith(changes))
    f[key] = value
    f.older = ''
    f.newer = ''
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
  var buttons = actionButtons(function (kind) { act(kind, Array.from(selected), out) }).concat(
    h('button', { type: 'button', 'data-action': 'remove', 'data-key': 'act:remove', onclick: function () { confirmRemove(Array.from(selected), out) } }, 'Remove'))
  var paging = pager(f)
  var headers = ['UUID', 'Description', 'Function', 'Channel', 'State', 'Priority#', 'Tries#', 'ETA', 'Created', 'Finished']
  var grid = table('Jobs', info.readOnly ? headers : [selectAll].concat(headers), [])
  var tbody = grid.querySelector('tbody')
  var summary = h('p', { class: 'summary' })

  /** The operator ticked or unticked: a removal waiting for its confirmation was of the
   * selection as it was, so it is withdrawn (Remove asks again, about the jobs ticked now). */
  function selectionChanged() {
    if (out.querySelector('.confirm') !== null) out.replaceChildren()
    renderRows()
  }

  function renderRows() {
    var rows = shown.map(function (job) {
      var box = h('input', { type: 'checkbox', 'aria-label': 'Select ' + job.uuid, 'data-key': 'sel:' + job.uuid, checked: selected.has(job.uuid),
        onchange: function (e) { if (e.target.checked) selected.add(job.uuid); else selected.delete(job.uuid); selectionChanged() } })
      return h('tr', { 'data-uuid': job.uuid }, info.readOnly ? null : h('td', null, box), jobCells(job))
    })
    var empty = !f.q.trim() ? 'No jobs match.'
      : 'No job on this page matches the search' + (next === null ? '.' : '; Older pages may hold some.')
    if (rows.length === 0) rows = [emptyRow(headers.length + 1, empty)]
    replaceKeepingFocus(tbody, rows)
    var count = shown.filter(function (job) { return selected.has(job.uuid) }).length
    selectAll.checked = count > 0 && count === shown.length
    selectAll.indeterminate = count > 0 && count < shown.length
    buttons.forEach(function (b) { b.disabled = count === 0 })
    paging.set(newest, next)
    summary.textContent = plural(shown.length, 'job') + ' shown' + (count ? ', ' + count + ' selected' : '') + '.'
  }

  async function loadJobs() {
    var q = f.q.trim()
    if (UUID_LIKE.test(q)) {
      var one = await api('jobs/' + encodeURIComponent(q), undefined, [400, 404])
      if (one && one.job) return { jobs: [one.job], next: null, newest: null }
    }
    var query = new URLSearchParams()
    if (f.state) query.set('state', f.state)
    if (f.channel) query.set('channel', f.channel)
    if (f.fn) query.set('function', f.fn)
    if (f.batch) query.set('batchUuid', f.batch)
    var found = await newestFirst('jobs', query, f)
    // Newer pages from the page's newest, kept or not by the search.
    return { jobs: q ? found.items.filter(searchFilter(q)) : found.items, next: found.older, newest: found.newest }
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
    // Unchanged: the rows, and text selected in them, stay.
    if (sameAsShown(tbody, [answers[2], f.older, f.newer])) return
    shown = answers[2].jobs
    next = answers[2].next || null
    newest = answers[2].newest || null
    var still = new Set(shown.map(function (job) { return job.uuid }))
    selected.forEach(function (uuid) { if (!still.has(uuid)) selected.delete(uuid) })
    renderRows()
  }

  var batchFilter = f.batch ? h('p', { class: 'filter-note' }, 'Jobs of batch ', h('span', { class: 'mono' }, f.batch), ' ',
    h('button', { type: 'button', onclick: function () { batchFilter.remove(); setFilter('batch', '') } }, 'All jobs')) : null
  var el = h('div', { class: 'jobs' },
    h('h2', null, 'Jobs'), batchFilter,
    h('form', { class: 'filters', role: 'search', 'aria-label': 'Filter jobs', onsubmit: function (e) { e.preventDefault() } },
      stateSelect, channelSelect, functionSelect, h('span', { class: 'field' }, h('label', { for: 'f-q' }, 'Search'), search)),
    info.readOnly ? null : h('div', { class: 'toolbar', role: 'group', 'aria-label': 'Actions on the selected jobs' }, buttons),
    out, grid,
    h('div', { class: 'pager' }, summary, paging.buttons))
  return { title: 'Jobs', el: el, refresh: refresh }
}
`
