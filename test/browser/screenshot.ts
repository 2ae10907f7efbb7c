// `npm run screenshot`: writes docs/dashboard.png, the Jobs view over the browser tests' mix of
// jobs, for the README. A script, not a test, so that `npm test` never rewrites a committed file.

import { join } from 'node:path'
import { chromium } from 'playwright-core'
import { openFixture } from './fixture.js'
import { serve } from './serve.js'

const out = join(import.meta.dirname, '../../docs/dashboard.png')
const fx = await openFixture({ markup: false })
const served = await serve(fx.wharf)
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] })
try {
  const page = await browser.newPage({ viewport: { width: 1440, height: 600 }, colorScheme: 'light' })
  await page.goto(served.url)
  await page.getByRole('table', { name: 'Jobs' }).getByRole('row').filter({ hasText: fx.running }).waitFor()
  await page.getByRole('status').filter({ hasText: /^Live$/ }).waitFor()
  await page.screenshot({ path: out, fullPage: true })
  console.log(`wrote ${out}`)
} finally {
  await browser.close()
  await served.close()
  await fx.close()
}
