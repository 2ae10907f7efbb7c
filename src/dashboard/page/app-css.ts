// The dashboard's style sheet, served as /assets/app.css. States are coloured by class
// (.state-failed …) and always written as words too.

export const APP_CSS: string = String.raw`
:root {
  --fg: #1d2430; --muted: #5b6474; --bg: #ffffff; --panel: #f5f7fa; --line: #d9dee6; --accent: #1f5fbf;
  --pending: #e8eefc; --pending-fg: #23408e; --enqueued: #dff1fb; --enqueued-fg: #0b5878;
  --started: #fff1cc; --started-fg: #7a5200; --done: #dcf5e3; --done-fg: #17692f;
  --failed: #fde2e1; --failed-fg: #a11b16; --cancelled: #eceef1; --cancelled-fg: #4a5260;
  --waiting: #efe6fb; --waiting-fg: #5b2d91;
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  color: var(--fg); background: var(--bg);
}
* { box-sizing: border-box; }
body { margin: 0; }
a { color: var(--accent); }
.top { display: flex; align-items: center; gap: 1.5em; padding: 0.5em 1.25em; background: #17202e; color: #fff; flex-wrap: wrap; }
.top a { color: #fff; text-decoration: none; }
.brand { margin: 0; font-weight: 700; font-size: 1.15em; }
.top nav ul { display: flex; gap: 0.25em; list-style: none; margin: 0; padding: 0; }
.top nav a { display: block; padding: 0.35em 0.75em; border-radius: 4px; }
.top nav a:hover, .top nav a:focus-visible { background: #2c3a52; }
.top nav a[aria-current="page"] { background: #3a4d6e; font-weight: 600; }
.live { margin: 0 0 0 auto; font-size: 0.9em; color: #b9c6da; }
#notice:not(:empty) { margin: 0.75em 1.25em 0; padding: 0.5em 0.75em; background: var(--failed); color: var(--failed-fg); border-radius: 4px; }
/* A long unbroken word (a URL in a message) wraps, not widening the page. */
main { padding: 0.5em 1.25em 2em; overflow-wrap: anywhere; }
main:focus { outline: none; }
h2 { font-size: 1.3em; margin: 0.6em 0 0.5em; }
section h2 { font-size: 1.05em; margin-top: 1.25em; }
.filters { display: flex; flex-wrap: wrap; gap: 0.75em 1.25em; align-items: center; margin-bottom: 0.75em; }
.field { display: inline-flex; gap: 0.4em; align-items: center; }
.field label { font-weight: 600; }
select, input[type="search"], input[type="password"], button { font: inherit; padding: 0.25em 0.5em; border: 1px solid var(--line); border-radius: 4px; background: #fff; }
input[type="search"] { min-width: 16em; }
button { cursor: pointer; background: var(--panel); }
button:hover:not(:disabled):not([aria-disabled="true"]) { background: #e6ebf2; }
button:disabled, button[aria-disabled="true"] { color: #9aa2ae; cursor: default; }
:focus-visible { outline: 2px solid var(--accent); outline-offset: 1px; }
.toolbar, .pager { display: flex; gap: 0.5em; align-items: center; margin: 0.5em 0; }
.pager .summary { margin: 0 auto 0 0; color: var(--muted); }
.action-result:not(:empty) { margin: 0.5em 0; padding: 0.4em 0.75em; background: var(--panel); border-left: 3px solid var(--accent); }
.action-result p { margin: 0.2em 0; }
.action-result .confirm button { margin-right: 0.5em; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; }
.jobs table { width: 100%; }
th, td { text-align: left; padding: 0.35em 0.5em; border-bottom: 1px solid var(--line); white-space: nowrap; vertical-align: middle; }
th { background: var(--panel); font-weight: 600; position: sticky; top: 0; }
td.desc { white-space: normal; min-width: 16em; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
tr:hover td { background: #fafbfd; }
tr.empty td, .empty-state, .none { color: var(--muted); font-style: italic; }
tr.paused td { background: #fff8e6; }
.mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 0.92em; }
.state { display: inline-block; padding: 0.05em 0.5em; border-radius: 999px; font-size: 0.9em; font-weight: 600; }
.state-pending { background: var(--pending); color: var(--pending-fg); }
.state-enqueued { background: var(--enqueued); color: var(--enqueued-fg); }
.state-started { background: var(--started); color: var(--started-fg); }
.state-done { background: var(--done); color: var(--done-fg); }
.state-failed { background: var(--failed); color: var(--failed-fg); }
.state-cancelled { background: var(--cancelled); color: var(--cancelled-fg); }
.state-wait_dependencies { background: var(--waiting); color: var(--waiting-fg); }
.error { color: var(--failed-fg); }
.job-head { display: flex; gap: 0.75em; align-items: center; }
pre { background: var(--panel); padding: 0.6em 0.8em; border-radius: 4px; overflow-x: auto; margin: 0.25em 0; }
pre.traceback { background: #fff5f5; border-left: 3px solid var(--failed-fg); }
dl.fields { display: grid; grid-template-columns: max-content 1fr; gap: 0.2em 1.25em; }
dl.fields dt { font-weight: 600; color: var(--muted); }
dl.fields dd { margin: 0; min-width: 0; }
dl.fields pre { margin: 0; }
progress { width: 14em; vertical-align: middle; }
svg.graph { display: block; max-width: 100%; height: auto; background: var(--panel); border-radius: 6px; }
svg.graph .edge { fill: none; stroke: #8a94a6; stroke-width: 1.5; }
svg.graph .arrow { fill: #8a94a6; }
svg.graph .node rect { fill: #fff; stroke: #8a94a6; stroke-width: 1.5; }
svg.graph .node text { font-size: 12px; fill: #1d2430; }
svg.graph .node .node-state { font-size: 11px; fill: #4a5260; }
svg.graph .node.current rect { stroke: var(--fg); stroke-width: 3; }
svg.graph a:focus-visible rect, svg.graph a:hover rect { stroke: var(--accent); stroke-width: 2.5; }
svg.graph .state-pending rect { fill: var(--pending); }
svg.graph .state-enqueued rect { fill: var(--enqueued); }
svg.graph .state-started rect { fill: var(--started); }
svg.graph .state-done rect { fill: var(--done); }
svg.graph .state-failed rect { fill: var(--failed); }
svg.graph .state-cancelled rect { fill: var(--cancelled); }
svg.graph .state-wait_dependencies rect { fill: var(--waiting); }
.login { max-width: 24em; }
@media (prefers-color-scheme: dark) {
  :root { --fg: #e3e8f0; --muted: #9aa5b6; --bg: #11161f; --panel: #1b2230; --line: #2e3849; --accent: #7fb0ff; }
  select, input[type="search"], input[type="password"], button { background: #1b2230; color: var(--fg); }
  tr:hover td { background: #161d29; }
  tr.paused td { background: #2a2414; }
  pre.traceback { background: #2a1a1a; }
}
`
