// The dashboard page's modules without a browser: the script parses, never writes markup from
// strings (so job data cannot become HTML), and the HTML shell has no inline script or style (the
// CSP forbids them) and escapes the base path. The browser tests cover behaviour.

import { Script } from 'node:vm'
import { describe, expect, it } from 'vitest'
import { APP_CSS } from '../../src/dashboard/page/app-css.js'
import { APP_JS, withoutCommentLines } from '../../src/dashboard/page/app-js.js'
import { pageHtml } from '../../src/dashboard/page/html.js'

const MARKUP_SINKS = /\.(innerHTML|outerHTML)\b|insertAdjacentHTML|document\.write|createContextualFragment|\beval\(|new Function\(/

describe('the dashboard script', () => {
  it('is one script that parses', () => {
    expect(() => new Script(APP_JS, { filename: 'app.js' })).not.toThrow()
  })

  it('has no markup sink: every piece of data goes through DOM APIs', () => {
    expect(APP_JS).not.toMatch(MARKUP_SINKS)
    expect('el.innerHTML = job.description').toMatch(MARKUP_SINKS) // the check itself
  })

  it("is served without its parts' comment lines, which are for readers of the source", () => {
    expect(APP_JS.split('\n').filter((line) => /^\s*(\/\/|\/\*|\*)/.test(line))).toEqual([])
    expect(withoutCommentLines('a()\n  // why\n/** what\n * more */\nb(\'//\')\n/* one */\nc()')).toBe("a()\nb('//')\nc()")
  })

  it('stays small', () => {
    expect(APP_JS.length + APP_CSS.length).toBeLessThan(64 * 1024)
  })
})

describe('the page shell', () => {
  it('links its assets and routes under the base path, with no inline script or style', () => {
    const html = pageHtml({ basePath: '/ops/jobs/', readOnly: false })
    expect(html).toContain('<script src="/ops/jobs/assets/app.js" defer></script>')
    expect(html).toContain('<link rel="stylesheet" href="/ops/jobs/assets/app.css">')
    expect([...html.matchAll(/<a href="([^"]*)"[^>]*>([^<]*)<\/a>/g)].map((m) => [m[1], m[2]])).toEqual([
      ['/ops/jobs/', 'Wharf'],
      ['/ops/jobs/', 'Jobs'],
      ['/ops/jobs/channels', 'Channels'],
      ['/ops/jobs/functions', 'Functions'],
      ['/ops/jobs/crons', 'Crons'],
      ['/ops/jobs/batches', 'Batches'],
    ])
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)|<style|\sstyle=|\son[a-z]+=/i)
    expect(html).toContain('<base href="/ops/jobs/">')
    expect(html).toContain('data-base="/ops/jobs" data-read-only="false"')
  })

  it('says read-only, and escapes the base path', () => {
    expect(pageHtml({ basePath: '', readOnly: true })).toContain('data-base="" data-read-only="true"')
    const html = pageHtml({ basePath: '/a"><script>x</script>', readOnly: false })
    expect(html).toContain('data-base="/a&quot;&gt;&lt;script&gt;x&lt;/script&gt;"')
    expect(html.match(/<script/g)).toHaveLength(1)
  })
})
