// The page's script, served as /assets/app.js (placeholder until the page lands: the page
// engineer owns this file and keeps the export's name).

export const APP_JS = `// Wharf dashboard (placeholder)
document.getElementById('app')?.setAttribute('data-ready', 'true')
`
