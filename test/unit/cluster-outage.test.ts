// A cluster member's warnings while its PostgreSQL server is away (cluster-outage.ts): one when
// the outage starts, at most one a minute while it lasts, one when it ends, saying how long. Each
// of the member's loops used to warn each failure: several warnings a second, for as long as the
// outage lasted.
import { describe, expect, it } from 'vitest'
import { OUTAGE_REPEAT_MS, OutageWarnings } from '../../src/engine/runtime/cluster-outage.js'

function outage(): { warnings: OutageWarnings; messages: string[]; at: (ms: number) => void } {
  let now = 1_000_000
  const messages: string[] = []
  const warnings = new OutageWarnings((message) => messages.push(message), () => now)
  return { warnings, messages, at: (ms) => void (now = 1_000_000 + ms) }
}

const away = new Error('read ECONNRESET')

describe('OutageWarnings', () => {
  it('warns when an outage starts, not for each failure while it lasts', () => {
    const { warnings, messages, at } = outage()
    for (let ms = 0; ms < OUTAGE_REPEAT_MS; ms += 250) {
      at(ms)
      warnings.failed(away)
    }
    expect(messages).toHaveLength(1)
    expect(messages[0]).toContain('the PostgreSQL server is unreachable: read ECONNRESET')
  })

  it('warns again at most once a minute while it lasts, with how long and how many failed', () => {
    const { warnings, messages, at } = outage()
    for (let ms = 0; ms <= 2.5 * OUTAGE_REPEAT_MS; ms += 1000) {
      at(ms)
      warnings.failed(away)
    }
    expect(messages).toHaveLength(3)
    expect(messages[1]).toBe(`the PostgreSQL server is still unreachable, for 60 s now (61 operations failed so far): read ECONNRESET`)
    expect(messages[2]).toContain('for 120 s now (121 operations failed so far)')
  })

  it('warns once when it ends, saying how long it lasted; a later outage is warned again', () => {
    const { warnings, messages, at } = outage()
    warnings.reached() // no outage: nothing to say
    expect(messages).toEqual([])
    at(0)
    warnings.failed(away)
    at(2500)
    warnings.failed(away)
    at(3200)
    warnings.reached()
    warnings.reached()
    expect(messages.slice(1)).toEqual(['the PostgreSQL server is reachable again, after an outage of 3.2 s (2 operations failed meanwhile)'])
    at(10_000)
    warnings.failed(away)
    expect(messages).toHaveLength(3)
    expect(messages[2]).toContain('is unreachable')
  })
})
