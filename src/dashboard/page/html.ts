// The dashboard's one HTML document: a static shell (header, navigation, an empty <main>) that
// the script fills. Served for `/` and every client route, so a deep link works on reload. The
// CSP is `default-src 'self'`: no inline script or style here, only the two /assets files.

import { InvalidPropertyError } from '../../engine/errors.js'

export interface PageOptions {
  /** Where the dashboard is mounted: '' for the root, else '/jobs' ('/jobs/' is read the same). */
  basePath: string
  readOnly: boolean
}

// Navigation, in order: [path under the base, link text].
const NAV: readonly [string, string][] = [
  ['/', 'Jobs'],
  ['/channels', 'Channels'],
  ['/functions', 'Functions'],
  ['/crons', 'Crons'],
  ['/batches', 'Batches'],
]

// A mount path is URL path segments; anything else in it would be a bug of the caller's.
const BASE_PATH = /^(\/[A-Za-z0-9._~!$&'()*+,;=:@%-]+)*\/?$/

/** basePath without its trailing slash ('' for the root); refuses what is not a URL path. */
export function normalizeBasePath(basePath: string): string {
  if (typeof basePath !== 'string' || (basePath !== '' && !BASE_PATH.test(basePath))) {
    throw new InvalidPropertyError(`dashboard basePath must be '' or a URL path such as '/jobs', got ${JSON.stringify(basePath)}`)
  }
  return basePath.replace(/\/+$/, '')
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]!)
}

export function pageHtml(opts: { basePath: string; readOnly: boolean }): string {
  const base = escapeHtml(normalizeBasePath(opts.basePath))
  const links = NAV.map(([path, text]) => `<li><a href="${base}${path}" data-route>${text}</a></li>`).join('')
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Wharf</title>
<link rel="stylesheet" href="${base}/assets/app.css">
<script src="${base}/assets/app.js" defer></script>
</head>
<body data-base="${base}" data-read-only="${opts.readOnly ? 'true' : 'false'}">
<header class="top">
<p class="brand"><a href="${base}/" data-route>Wharf</a></p>
<nav aria-label="Dashboard"><ul>${links}</ul></nav>
<p class="live" id="live" role="status">Connecting…</p>
</header>
<div id="notice" role="alert"></div>
<main id="main" tabindex="-1"><p>Loading…</p><noscript>The Wharf dashboard needs JavaScript.</noscript></main>
</body>
</html>
`
}
