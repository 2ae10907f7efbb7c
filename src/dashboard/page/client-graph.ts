// Client script, part 4: a job graph as an inline SVG built with DOM APIs. Layered layout: a
// job's column is the longest path to it from a root (Kahn's order, an explicit queue, no
// recursion), jobs in a column keep creation order. Each node is a link to the job, a <g> with a
// rect coloured by its state's class, the description and the state as text.

export const GRAPH_JS = String.raw`
var NODE_W = 180
var NODE_H = 44
var GAP_X = 56
var GAP_Y = 16
var GRAPH_NODES_MAX = 500
var LABEL_CHARS = 24

/** Column of each job: longest path from a root, following edges [parent, child]. */
function graphDepths(jobs, edges) {
  var index = new Map(jobs.map(function (job, i) { return [job.uuid, i] }))
  var children = jobs.map(function () { return [] })
  var waiting = jobs.map(function () { return 0 })
  edges.forEach(function (edge) {
    var p = index.get(edge[0])
    var c = index.get(edge[1])
    if (p === undefined || c === undefined) return
    children[p].push(c)
    waiting[c]++
  })
  var depth = jobs.map(function () { return 0 })
  var queue = []
  waiting.forEach(function (n, i) { if (n === 0) queue.push(i) })
  for (var k = 0; k < queue.length; k++) {
    var i = queue[k]
    children[i].forEach(function (c) {
      depth[c] = Math.max(depth[c], depth[i] + 1)
      if (--waiting[c] === 0) queue.push(c)
    })
  }
  return depth
}

/** Top-left corner of each job's node. */
function graphPositions(jobs, depth) {
  var rows = []
  return jobs.map(function (job, i) {
    var column = depth[i]
    var row = rows[column] = (rows[column] === undefined ? 0 : rows[column] + 1)
    return { x: 8 + column * (NODE_W + GAP_X), y: 8 + row * (NODE_H + GAP_Y) }
  })
}

/** In code points: never half a surrogate pair. */
function shorten(text) {
  var chars = Array.from(text)
  return chars.length > LABEL_CHARS ? chars.slice(0, LABEL_CHARS - 1).join('') + '…' : text
}

function graphNode(job, at, currentUuid) {
  var classes = 'node state-' + job.state + (job.uuid === currentUuid ? ' current' : '')
  return svg('a', { href: jobHref(job.uuid), 'data-route': true, 'aria-label': job.description + ', ' + job.state, 'data-key': 'node:' + job.uuid },
    svg('g', { class: classes, 'data-uuid': job.uuid, transform: 'translate(' + at.x + ',' + at.y + ')' },
      svg('title', null, job.description + ' — ' + job.state + ' — ' + job.uuid),
      svg('rect', { width: NODE_W, height: NODE_H, rx: 6 }),
      svg('text', { class: 'label', x: 10, y: 18 }, shorten(job.description)),
      svg('text', { class: 'node-state', x: 10, y: 35 }, job.state.replace('_', ' '))))
}

/** A curve from the parent's right side to the child's left, and its arrowhead. */
function graphEdge(from, to) {
  var x1 = from.x + NODE_W
  var y1 = from.y + NODE_H / 2
  var x2 = to.x - 1
  var y2 = to.y + NODE_H / 2
  var mid = (x1 + x2) / 2
  // The curve ends level, so the head points right. Drawn, not a <marker>: url(#…) references
  // resolve against <base href>, which is not this document's URL under a mount path.
  return [
    svg('path', { class: 'edge', d: 'M' + x1 + ' ' + y1 + ' C' + mid + ' ' + y1 + ' ' + mid + ' ' + y2 + ' ' + (x2 - 6) + ' ' + y2 }),
    svg('path', { class: 'arrow', d: 'M' + (x2 - 8) + ' ' + (y2 - 4) + ' L' + x2 + ' ' + y2 + ' L' + (x2 - 8) + ' ' + (y2 + 4) + ' z' }),
  ]
}

/** The SVG for graph { jobs, edges, size } (its outline: no more than GRAPH_NODES_MAX jobs are
 * sent), the current job outlined; a sentence when too large. */
function graphSvg(graph, currentUuid) {
  if (graph.size > GRAPH_NODES_MAX) {
    return h('p', null, 'This graph has ' + graph.size + ' jobs: too many to draw (at most ' + GRAPH_NODES_MAX + ').')
  }
  var depth = graphDepths(graph.jobs, graph.edges)
  var at = graphPositions(graph.jobs, depth)
  var byUuid = new Map(graph.jobs.map(function (job, i) { return [job.uuid, at[i]] }))
  var width = 16 + NODE_W + Math.max.apply(null, at.map(function (p) { return p.x }))
  var height = 16 + NODE_H + Math.max.apply(null, at.map(function (p) { return p.y }))
  var edges = graph.edges.filter(function (e) { return byUuid.has(e[0]) && byUuid.has(e[1]) })
    .map(function (e) { return graphEdge(byUuid.get(e[0]), byUuid.get(e[1])) })
  return svg('svg', { class: 'graph', role: 'group', 'aria-label': 'Dependency graph, ' + plural(graph.jobs.length, 'job'),
    width: width, height: height, viewBox: '0 0 ' + width + ' ' + height },
    edges,
    graph.jobs.map(function (job, i) { return graphNode(job, at[i], currentUuid) }))
}
`
