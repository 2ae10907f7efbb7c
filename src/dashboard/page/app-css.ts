// The page's style, served as /assets/app.css (placeholder until the page lands: the page
// engineer owns this file and keeps the export's name).

export const APP_CSS = `body { font-family: system-ui, sans-serif; margin: 1rem; }
`
