// Client script, last part: client-side routing (history.pushState; the server answers every
// route with the same page, so a reloaded deep link lands on its view) and the start-up.
// A view is { title, el, refresh }: el is built once when the route is shown, refresh() loads
// the data and updates el in place — live updates call it again without rebuilding controls.

export const ROUTER_JS = String.raw`
var current = null
var refreshing = null
var refreshQueued = null

var VIEWS = {
  jobs: jobsView,
  job: jobView,
  channels: channelsView,
  functions: functionsView,
  crons: cronsView,
  batches: batchesView,
  notfound: notFoundView,
}

function routeOf(pathname) {
  var path = pathname.indexOf(BASE) === 0 ? pathname.slice(BASE.length) : pathname
  path = path.replace(/\/+$/, '') || '/'
  if (path === '/') return { view: 'jobs', nav: '/' }
  var job = /^\/job\/([^/]+)$/.exec(path)
  if (job) {
    try {
      return { view: 'job', nav: '/', uuid: decodeURIComponent(job[1]) }
    } catch (e) {
      return { view: 'notfound', nav: null } // a malformed escape (typed, or cut short) names no job
    }
  }
  var name = path.slice(1)
  if (['channels', 'functions', 'crons', 'batches'].indexOf(name) >= 0) return { view: name, nav: path }
  return { view: 'notfound', nav: null }
}

/** Go to a path under the base ('/channels', '/?state=failed'), with a history entry or in place. */
function go(path, replace) {
  history[replace ? 'replaceState' : 'pushState'](null, '', BASE + path)
  show()
}

function markNav(navPath) {
  document.querySelectorAll('nav a').forEach(function (a) {
    if (a.getAttribute('href') === BASE + navPath) a.setAttribute('aria-current', 'page')
    else a.removeAttribute('aria-current')
  })
}

function show() {
  var route = routeOf(location.pathname)
  markNav(route.nav)
  notice('')
  var view = VIEWS[route.view](route, new URLSearchParams(location.search))
  current = view
  document.title = view.title + ' — Wharf'
  var main = document.getElementById('main')
  main.replaceChildren(view.el)
  refreshView()
}

/**
 * Runs the current view's refresh, one at a time: called while one runs, it queues one more
 * (however many calls come meanwhile). Resolves once a refresh begun after the call has ended.
 */
function refreshView() {
  if (refreshing === null) {
    refreshing = runRefresh().finally(function () { refreshing = null })
    return refreshing
  }
  if (refreshQueued === null) refreshQueued = refreshing.then(function () { refreshQueued = null; return refreshView() })
  return refreshQueued
}

async function runRefresh() {
  var view = current
  if (view === null) return
  try {
    await view.refresh()
    if (current === view) notice('')
  } catch (error) {
    if (current === view && error && error.status !== 401) notice(error.message || String(error))
  }
}

function notFoundView() {
  return { title: 'Not found', el: h('p', null, 'No such page. ', h('a', { href: BASE + '/', 'data-route': true }, 'Back to the jobs')), refresh: async function () {} }
}

document.addEventListener('click', function (event) {
  var a = event.target.closest ? event.target.closest('a[data-route]') : null
  if (a === null || event.defaultPrevented || event.button !== 0) return
  if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return
  event.preventDefault()
  var href = a.getAttribute('href')
  history.pushState(null, '', href)
  show()
  document.getElementById('main').focus()
})

window.addEventListener('popstate', show)

async function boot() {
  try {
    var answer = await request('info')
    if (answer.status === 200 && answer.body) {
      info.readOnly = info.readOnly || answer.body.readOnly === true
      info.tokenRequired = answer.body.tokenRequired === true
    }
  } catch (error) {
    return // 401: the login form is up
  }
  if (info.readOnly) document.body.classList.add('read-only')
  show()
  startLive()
}

boot()
`
