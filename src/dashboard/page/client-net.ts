// Client script, part 2: talking to the JSON API under <base>/api/, the login form when a token
// is needed, and live updates from /api/events (Server-Sent Events), which refresh the current
// view at most every REFRESH_MS.

export const NET_JS = String.raw`
var BASE = (document.body.getAttribute('data-base') || '').replace(/\/+$/, '')
var REFRESH_MS = 250
var info = { readOnly: document.body.getAttribute('data-read-only') === 'true', tokenRequired: false }

function ApiError(status, body) {
  var error = body && body.error
  this.status = status
  this.body = body
  this.message = error ? error.name + ': ' + error.message : 'HTTP ' + status
}

/** fetch <base>/api/<path>; resolves { status, body } for any answer, after a 401 shows the login. */
async function request(path, body) {
  var init = { credentials: 'same-origin', headers: { Accept: 'application/json' } }
  if (body !== undefined) {
    init.method = 'POST'
    init.headers['Content-Type'] = 'application/json'
    init.body = JSON.stringify(body)
  }
  var res = await fetch(BASE + '/api/' + path, init)
  var data = null
  try { data = await res.json() } catch (e) { data = null }
  if (res.status === 401) {
    showLogin()
    throw new ApiError(401, data)
  }
  return { status: res.status, body: data }
}

/** The answer's body; any status but 2xx (and the ones in okStatuses) throws an ApiError. */
async function api(path, body, okStatuses) {
  var answer = await request(path, body)
  var ok = answer.status >= 200 && answer.status < 300
  if (!ok && !(okStatuses && okStatuses.indexOf(answer.status) >= 0)) throw new ApiError(answer.status, answer.body)
  return answer.body
}

function notice(text) {
  document.getElementById('notice').textContent = text || ''
}

/**
 * The login form. Sent by fetch, so a wrong token is said in the form and a deep link stays where
 * it is; a plain form post (the cookie, then a redirect to the base) if the script cannot.
 */
function showLogin() {
  current = null
  stopLive()
  setLive('Not logged in')
  var field = h('input', { id: 'token', name: 'token', type: 'password', autocomplete: 'current-password', required: true })
  var problem = h('p', { role: 'alert', class: 'error' })
  var form = h('form', { method: 'post', action: BASE + '/login', class: 'login', onsubmit: function (event) {
    event.preventDefault()
    logIn(field.value, problem).then(function (ok) { if (ok) boot(); else field.focus() })
  } },
    h('h2', null, 'Log in'),
    h('p', null, 'This dashboard needs its access token.'),
    h('p', null, h('label', { for: 'token' }, 'Token'), ' ', field),
    problem,
    h('p', null, h('button', { type: 'submit' }, 'Log in')))
  document.getElementById('main').replaceChildren(form)
  field.focus()
}

async function logIn(token, problem) {
  problem.textContent = ''
  try {
    var res = await fetch(BASE + '/login', { method: 'POST', body: new URLSearchParams({ token: token }), credentials: 'same-origin' })
    if (res.ok) return true
    var body = null
    try { body = await res.json() } catch (e) { body = null }
    problem.textContent = new ApiError(res.status, body).message
  } catch (error) {
    problem.textContent = 'The dashboard did not answer: ' + error.message
  }
  return false
}

var source = null
var refreshTimer = null

function setLive(text) {
  document.getElementById('live').textContent = text
}

function startLive() {
  if (source !== null || typeof EventSource === 'undefined') return
  source = new EventSource(BASE + '/api/events')
  source.addEventListener('transition', scheduleRefresh)
  // Whatever changed between the last load and this connection sent no event to us: reload,
  // and say 'Live' once the view is up to date (from then on, every change comes as an event).
  source.addEventListener('open', function () {
    refreshView().then(function () { if (source !== null && source.readyState === 1) setLive('Live') })
  })
  source.addEventListener('error', function () {
    if (source === null) return
    if (source.readyState !== EventSource.CLOSED) return setLive('Reconnecting…')
    // Refused (401, 503…): EventSource does not try again. Say so, and ask the API why: a 401
    // brings up the login form, which starts the stream again once logged in.
    stopLive()
    setLive('Not live: reload the page')
    request('info').catch(function () {})
  })
}

function stopLive() {
  if (source !== null) source.close()
  source = null
}

/** At most one refresh every REFRESH_MS, however many events arrive. */
function scheduleRefresh() {
  if (refreshTimer !== null) return
  refreshTimer = setTimeout(function () {
    refreshTimer = null
    refreshView()
  }, REFRESH_MS)
}
`
