// Client script, part 1: building the page with DOM APIs only. Every piece of job data reaches
// the document as a text node or an attribute value, never as markup, so a description such as
// `<img src=x onerror=…>` shows as text. Plain browser JS in a string (no build step); the parts
// share one function scope (see app-js.ts). No backticks or dollar-brace in here: String.raw.

export const DOM_JS = String.raw`
var SVG_NS = 'http://www.w3.org/2000/svg'
var PROPERTIES = { value: 1, checked: 1, disabled: 1, selected: 1, indeterminate: 1, hidden: 1 }

function setProps(el, props) {
  for (var key in props) {
    var v = props[key]
    if (v === undefined || v === null || v === false) continue
    if (key.slice(0, 2) === 'on') el.addEventListener(key.slice(2), v)
    else if (PROPERTIES[key]) el[key] = v
    else el.setAttribute(key, v === true ? '' : String(v))
  }
}

function append(el, children) {
  for (var i = 0; i < children.length; i++) {
    var c = children[i]
    if (c === null || c === undefined || c === false) continue
    if (Array.isArray(c)) append(el, c)
    else el.appendChild(typeof c === 'object' ? c : document.createTextNode(String(c)))
  }
  return el
}

/** h('td', { class: 'num' }, 'text', child, [more]) */
function h(tag, props) {
  var el = document.createElement(tag)
  setProps(el, props || {})
  return append(el, Array.prototype.slice.call(arguments, 2))
}

function svg(tag, props) {
  var el = document.createElementNS(SVG_NS, tag)
  setProps(el, props || {})
  return append(el, Array.prototype.slice.call(arguments, 2))
}

function pad2(n) {
  return n < 10 ? '0' + n : String(n)
}

/** Local time, 2026-11-03 14:05:09; '' for null. */
function time(ms) {
  if (ms === null || ms === undefined) return ''
  var d = new Date(ms)
  return d.getFullYear() + '-' + pad2(d.getMonth() + 1) + '-' + pad2(d.getDate()) + ' ' +
    pad2(d.getHours()) + ':' + pad2(d.getMinutes()) + ':' + pad2(d.getSeconds())
}

/** A <time>: in tables (short), today's times without their date; the full time as its title. */
function timeCell(ms, short) {
  if (ms === null || ms === undefined) return ''
  var text = time(ms)
  if (short && text.slice(0, 10) === time(Date.now()).slice(0, 10)) text = text.slice(11)
  return h('time', { datetime: new Date(ms).toISOString(), title: time(ms) }, text)
}

/** The state as words; the colour from its class only repeats it. */
function stateBadge(state) {
  return h('span', { class: 'state state-' + state }, state.replace('_', ' '))
}

function none() {
  return h('span', { class: 'none' }, 'none')
}

function json(value) {
  return JSON.stringify(value, null, 2)
}

function jobHref(uuid) {
  return BASE + '/job/' + encodeURIComponent(uuid)
}

/** data-key: a live refresh that redraws it gives the focus back (see replaceKeepingFocus). */
function jobLink(uuid) {
  return h('a', { href: jobHref(uuid), 'data-route': true, class: 'mono', 'data-key': 'job:' + uuid }, uuid)
}

/** A table named by aria-label; headers: column titles (a '#' suffix: a numeric column). */
function table(name, headers, rows) {
  var head = h('tr', null, headers.map(function (title) {
    var numeric = typeof title === 'string' && title.slice(-1) === '#'
    return h('th', { scope: 'col', class: numeric ? 'num' : null }, numeric ? title.slice(0, -1) : title)
  }))
  return h('div', { class: 'scroll' },
    h('table', { 'aria-label': name }, h('thead', null, head), h('tbody', null, rows)))
}

function emptyRow(columns, text) {
  return h('tr', { class: 'empty' }, h('td', { colspan: columns }, text))
}

/**
 * Replaces el's children, keeping the focus on the control that had it: live refreshes rebuild
 * rows, and a keyboard user must not lose their place. Controls carry data-key for this.
 */
function replaceKeepingFocus(el, children) {
  var active = document.activeElement
  var key = active && el.contains(active) ? active.getAttribute('data-key') : null
  // A key may be on several controls (a job linked from two places): the same one by its rank.
  var keyed = function () { return el.querySelectorAll('[data-key="' + CSS.escape(key) + '"]') }
  var rank = key === null ? -1 : Array.prototype.indexOf.call(keyed(), active)
  el.replaceChildren.apply(el, children.filter(function (c) { return c !== null && c !== undefined }))
  if (key === null) return
  var again = keyed()
  var target = again[Math.min(rank, again.length - 1)]
  if (target) target.focus()
}

/** Whether el last showed data (else remembers it): a refresh with nothing new leaves the view,
 * and text selected in it, alone. */
function sameAsShown(el, data) {
  var text = JSON.stringify(data)
  if (el.shownData === text) return true
  el.shownData = text
  return false
}

function section(title) {
  return h('section', { 'aria-label': title }, h('h2', null, title))
}

/** A labelled <select>: options are [value, text] pairs; the label names it for screen readers. */
function labelledSelect(id, label, options, value, onchange) {
  var select = h('select', { id: id, name: id.replace(/^f-/, ''), onchange: onchange })
  setOptions(select, options, value)
  return h('span', { class: 'field' }, h('label', { for: id }, label), select)
}

function setOptions(select, options, value) {
  var have = Array.prototype.map.call(select.options, function (o) { return o.value + '\n' + o.text }).join('\n')
  var want = options.map(function (o) { return o[0] + '\n' + o[1] }).join('\n')
  if (have !== want) {
    select.replaceChildren.apply(select, options.map(function (o) { return h('option', { value: o[0] }, o[1]) }))
  }
  select.value = value
}
`
