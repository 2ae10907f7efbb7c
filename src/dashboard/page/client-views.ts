// Client script, part 6: the Channels tree (with Pause / Resume), the Functions, Crons (with
// Pause / Resume) and Batches tables. Crons are shown field by field as the API gives them, so a
// field added later appears without a change here; batches with their progress and a link to
// their jobs, paged as the jobs are.

export const VIEWS_JS = String.raw`
function yesNo(value) {
  return value ? 'yes' : 'no'
}

/** A view of one table, rows(body) → <tr>s, the data from GET /api/<path>. */
function tableView(title, path, headers, rows) {
  var grid = table(title, headers, [])
  var tbody = grid.querySelector('tbody')
  var out = h('div', { class: 'action-result', role: 'status' })
  async function refresh() {
    var body = await api(path)
    if (!sameAsShown(tbody, body)) replaceKeepingFocus(tbody, rows(body, out))
  }
  return { title: title, el: h('div', null, h('h2', null, title), out, grid), refresh: refresh }
}

async function channelAction(kind, name, out) {
  try {
    await api('channels/' + kind, { channel: name })
    out.replaceChildren(h('p', null, 'Channel ' + name + (kind === 'pause' ? ' paused.' : ' resumed.')))
  } catch (error) {
    out.replaceChildren(h('p', { class: 'error' }, error.message))
  }
  refreshView()
}

/** No capacity in the answer: the store was opened by \`wharf dashboard --path\`, under the CLI's
 * channels, not the app's, so its configuration is unknown (not unlimited, which is null). */
function capacityText(c) {
  return 'capacity' in c ? c.capacity : '-'
}

function channelRow(c, out) {
  var depth = c.name.split('.').length - 1
  var name = h('td', { class: 'channel', id: 'ch-' + c.name }, c.name)
  name.style.paddingLeft = (0.6 + depth * 1.5) + 'em'
  var options = [c.sequential ? 'sequential' : '', c.throttleSeconds ? 'throttle ' + c.throttleSeconds + ' s' : ''].filter(Boolean).join(', ')
  var kind = c.paused ? 'resume' : 'pause'
  // One key for Pause and Resume: the focus stays on the button that just turned into the other.
  var button = info.readOnly ? null : h('button', { type: 'button', 'data-key': 'channel:' + c.name, 'aria-describedby': 'ch-' + c.name,
    onclick: function () { channelAction(kind, c.name, out) } }, c.paused ? 'Resume' : 'Pause')
  return h('tr', { 'data-channel': c.name, class: c.paused ? 'paused' : '' }, name,
    h('td', { class: 'num' }, capacityText(c)), h('td', { class: 'num' }, c.running), h('td', { class: 'num' }, c.pending),
    h('td', { class: 'num' }, c.failed), h('td', null, c.paused ? h('strong', null, 'paused') : 'no'), h('td', null, options),
    info.readOnly ? null : h('td', null, button))
}

function channelsView() {
  var headers = ['Channel', 'Capacity#', 'Running#', 'Pending#', 'Failed#', 'Paused', 'Options'].concat(info.readOnly ? [] : ['Action'])
  return tableView('Channels', 'channels', headers, function (body, out) {
    if (body.channels.length === 0) return [emptyRow(headers.length, 'No channels.')]
    return body.channels.map(function (c) { return channelRow(c, out) })
  })
}

function relatedActionText(ra) {
  if (!ra || !ra.enable) return 'off'
  return ra.funcName ? ra.funcName + (ra.kwargs ? ' ' + JSON.stringify(ra.kwargs) : '') : 'on, no method'
}

function functionsView() {
  var headers = ['Function', 'Channel', 'Retry pattern', 'Related action', 'Timeout', 'Registered']
  return tableView('Functions', 'functions', headers, function (body) {
    if (body.functions.length === 0) return [emptyRow(headers.length, 'No job functions.')]
    return body.functions.map(function (fn) {
      // No settings in the answer: a function known from the store's jobs under \`wharf dashboard
      // --path\`, whose settings are the app's code, not stored: '-', as for channel capacities.
      if (!('channel' in fn)) {
        return h('tr', null, h('td', null, fn.name), h('td', null, '-'), h('td', null, '-'), h('td', null, '-'), h('td', null, '-'), h('td', null, yesNo(fn.registered)))
      }
      return h('tr', null, h('td', null, fn.name), h('td', null, fn.channel || 'default'),
        h('td', null, fn.retryPattern ? JSON.stringify(fn.retryPattern) : 'default'),
        h('td', null, relatedActionText(fn.relatedAction)),
        h('td', null, fn.timeoutMs === null || fn.timeoutMs === undefined ? 'none' : fn.timeoutMs + ' ms'),
        h('td', null, yesNo(fn.registered)))
    })
  })
}

/** 'nextFireAt' → 'Next fire at' */
function humanize(key) {
  var words = key.replace(/([a-z0-9])([A-Z])/g, '$1 $2').toLowerCase()
  return words.charAt(0).toUpperCase() + words.slice(1)
}

function genericCell(key, value) {
  if (value === null || value === undefined) return ''
  if (typeof value === 'number' && /(At|Ms|Fire|fire)$/.test(key) && value > 1e11) return timeCell(value)
  if (key === 'state') return stateBadge(String(value))
  if (typeof value === 'boolean') return yesNo(value)
  if (typeof value === 'object') return JSON.stringify(value)
  return String(value)
}

/** Crons and batches: one column per field of the rows (their union, in first-seen order);
 * action(item, out), when given, makes a last column of buttons. */
function listView(title, path, empty, action) {
  var view = { title: title, el: null, refresh: null }
  var box = h('div')
  var out = h('div', { class: 'action-result', role: 'status' })
  view.el = h('div', null, h('h2', null, title), out, box)
  view.refresh = async function () {
    var items = (await api(path))[path] || []
    if (sameAsShown(box, items)) return
    if (items.length === 0) {
      box.replaceChildren(h('p', { class: 'empty-state' }, empty))
      return
    }
    var keys = []
    items.forEach(function (item) { Object.keys(item).forEach(function (k) { if (keys.indexOf(k) < 0) keys.push(k) }) })
    var withAction = action && !info.readOnly
    var headers = keys.map(humanize).concat(withAction ? ['Action'] : [])
    replaceKeepingFocus(box, [table(title, headers, items.map(function (item) {
      var cells = keys.map(function (k) { return h('td', null, genericCell(k, item[k])) })
      return h('tr', null, cells.concat(withAction ? [h('td', null, action(item, out))] : []))
    }))])
  }
  return view
}

async function cronAction(kind, name, out) {
  try {
    await api('crons/' + kind, { name: name })
    out.replaceChildren(h('p', null, 'Cron ' + name + (kind === 'pause' ? ' paused.' : ' resumed.')))
  } catch (error) {
    out.replaceChildren(h('p', { class: 'error' }, error.message))
  }
  refreshView()
}

function cronsView() {
  return listView('Crons', 'crons', 'No crons are defined.', function (cron, out) {
    var kind = cron.paused ? 'resume' : 'pause'
    return h('button', { type: 'button', 'data-key': 'cron:' + cron.name, 'aria-label': (cron.paused ? 'Resume ' : 'Pause ') + cron.name,
      onclick: function () { cronAction(kind, cron.name, out) } }, cron.paused ? 'Resume' : 'Pause')
  })
}

function batchRow(b) {
  var finished = b.done + b.cancelled
  var jobs = h('a', { href: BASE + '/?batch=' + encodeURIComponent(b.uuid), 'data-route': true, 'aria-label': 'Jobs of batch ' + b.name, 'data-key': 'batch:' + b.uuid }, 'Jobs')
  return h('tr', { 'data-uuid': b.uuid }, h('td', null, b.name), h('td', null, stateBadge(b.state)),
    h('td', null, h('progress', { max: b.total, value: finished, 'aria-label': 'Progress of ' + b.name }), ' ', finished + '/' + b.total),
    h('td', { class: 'num' }, b.done), h('td', { class: 'num' }, b.failed), h('td', { class: 'num' }, b.cancelled), h('td', { class: 'num' }, b.total),
    h('td', null, timeCell(b.createdAt, true)), h('td', null, timeCell(b.doneAt, true)), h('td', null, jobs))
}

/** The batches, newest first, paged as the jobs. */
function batchesView(route, params) {
  var headers = ['Name', 'State', 'Progress', 'Done#', 'Failed#', 'Cancelled#', 'Total#', 'Created', 'Done at', 'Jobs']
  var f = { older: params.get('older') || '', newer: params.get('newer') || '', since: '' }
  var grid = table('Batches', headers, [])
  var tbody = grid.querySelector('tbody')
  var paging = pager(f)
  async function refresh() {
    var found = await newestFirst('batches', new URLSearchParams(), f)
    paging.set(found.newest, found.older)
    if (sameAsShown(tbody, [found.items, f.older, f.newer])) return
    replaceKeepingFocus(tbody, found.items.length === 0 ? [emptyRow(headers.length, 'No batches yet.')] : found.items.map(batchRow))
  }
  return { title: 'Batches', el: h('div', null, h('h2', null, 'Batches'), grid, h('div', { class: 'pager' }, paging.buttons)), refresh: refresh }
}
`
