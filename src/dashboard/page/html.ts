// The dashboard's one HTML document: a static shell (header, navigation, an empty <main>) that
// the script fills. The base path is in <base href> and data-base; the page's own URLs are all
// absolute paths built from data-base, so they do not depend on <base>. Served for `/` and every client route, so a deep link works on reload. The
// CSP is `default-src 'self'`: no inline script or style here, only the two /assets files.

// Navigation, in order: [path under the base, link text].
const NAV: readonly [string, string][] = [
  ['/', 'Jobs'],
  ['/channels', 'Channels'],
  ['/functions', 'Functions'],
  ['/crons', 'Crons'],
  ['/batches', 'Batches'],
]

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]!)
}

/**
 * The page for a dashboard mounted at basePath ('' for the root, else '/jobs'; a trailing slash
 * is dropped). The server checked basePath; it is escaped here all the same, as all text is.
 */
export function pageHtml(opts: { basePath: string; readOnly: boolean }): string {
  const base = escapeHtml(opts.basePath.replace(/\/+$/, ''))
  const links = NAV.map(([path, text]) => `<li><a href="${base}${path}" data-route>${text}</a></li>`).join('')
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Wharf</title>
<base href="${base}/">
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
