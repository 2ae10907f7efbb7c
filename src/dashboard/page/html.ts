// The dashboard's one HTML document (placeholder until the page lands: the page engineer owns
// this file and keeps the export's name and signature). No inline script or style: the CSP is
// `default-src 'self'`. `basePath` is '' or '/a/b' (no trailing slash); the page reads it from
// <base href> and data-base.

export function pageHtml(opts: { basePath: string; readOnly: boolean }): string {
  const base = escapeAttribute(`${opts.basePath}/`)
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Wharf</title>
<base href="${base}">
<link rel="stylesheet" href="assets/app.css">
<script type="module" src="assets/app.js"></script>
</head>
<body data-base="${escapeAttribute(opts.basePath)}" data-read-only="${opts.readOnly}">
<main id="app"><h1>Wharf</h1></main>
</body>
</html>
`
}

function escapeAttribute(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}
