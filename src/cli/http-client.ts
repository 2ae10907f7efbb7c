// --url: the CLI's client over a running app's dashboard JSON API (docs: operator surface). It
// sends the token as a bearer header, mutating requests as POST with a JSON body, and turns the
// API's error bodies ({ error: { name, code, message } }) into Refusals carrying them.

import type { Stats } from '../engine/api/queries.js'
import type { ClusterView } from '../engine/runtime/cluster.js'
import type { RemovableState } from '../engine/core/commands.js'
import { Refusal, type Action, type ActionResult, type Explanation, type JobDetail, type JobsFilter, type JobsPage, type OperatorClient, type BatchesFilter, type BatchesPage } from './client.js'

/** A filter's set fields as a query string. */
function queryOf(filter: object): URLSearchParams {
  const query = new URLSearchParams()
  for (const [key, value] of Object.entries(filter)) if (value !== undefined) query.set(key, String(value))
  return query
}

/** A request that has no answer after this long is given up (the CLI must not hang). */
const REQUEST_TIMEOUT_MS = 30_000
/** uuids per action request: the API's limit. */
export const ACTION_UUIDS_MAX = 1000

/** The field a 200 answer must hold, and its kind: another service's JSON is not Wharf's API. */
type Field = readonly [name: string, kind: 'array' | 'object' | 'number']

function holds(body: unknown, [name, kind]: Field): boolean {
  const value = (body as Record<string, unknown> | null)?.[name]
  if (kind === 'array') return Array.isArray(value)
  if (kind === 'number') return typeof value === 'number'
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** Why fetch() failed: the system's code (ECONNREFUSED, UND_ERR_SOCKET) where it gives one. */
function failure(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause
  return cause?.code ?? cause?.message ?? (error as Error).message
}

/** An answer that is not Wharf's API (another server at --url, a proxy's page): exit 1. */
function notApi(where: string, status: number, what: string, text: string): Refusal {
  return new Refusal({ name: 'ProtocolError', code: 'NOT_WHARF_API', message: `${where} answered ${status} with ${what} Wharf's JSON API (${JSON.stringify(text.slice(0, 80))}); is --url the dashboard's base URL?` })
}

interface Answer {
  status: number
  body: unknown
}

export class HttpClient implements OperatorClient {
  /** `base`: the dashboard's URL without a trailing slash (args.ts urlOption). */
  constructor(
    private readonly base: string,
    private readonly token: string | undefined,
  ) {}

  async jobs(filter: JobsFilter): Promise<JobsPage> {
    return (await this.ok('GET', `/api/jobs?${queryOf(filter)}`, ['jobs', 'array'])) as JobsPage
  }

  async job(uuid: string): Promise<JobDetail> {
    return (await this.ok('GET', `/api/jobs/${encodeURIComponent(uuid)}`, ['job', 'object'])) as JobDetail
  }

  async explain(uuid: string): Promise<Explanation> {
    return (await this.ok('GET', `/api/jobs/${encodeURIComponent(uuid)}/explain`, ['reasons', 'array'])) as Explanation
  }

  async act(action: Action, uuids: readonly string[]): Promise<ActionResult[]> {
    const results: ActionResult[] = []
    for (let i = 0; i < uuids.length; i += ACTION_UUIDS_MAX) {
      const answer = await this.request('POST', `/api/actions/${action}`, { uuids: uuids.slice(i, i + ACTION_UUIDS_MAX) })
      // 409: some were refused; the body still lists every result.
      if (answer.status !== 200 && answer.status !== 409) throw this.refusal(answer)
      if (!holds(answer.body, ['results', 'array'])) throw notApi(`POST ${this.base}/api/actions/${action}`, answer.status, 'JSON that is not', JSON.stringify(answer.body))
      results.push(...((answer.body as { results: ActionResult[] }).results))
    }
    return results
  }

  async remove(uuids: readonly string[]): Promise<{ removed: number }> {
    // One request: the API's remove is all or nothing, up to ACTION_UUIDS_MAX uuids (checked by
    // the command). A refusal (409) carries its error like any other.
    const { removed } = (await this.ok('POST', '/api/actions/remove', ['removed', 'number'], { uuids })) as { removed: number }
    return { removed }
  }

  async purge(state: RemovableState, before: Date | undefined): Promise<{ removed: number }> {
    const { removed } = (await this.ok('POST', '/api/actions/purge', ['removed', 'number'], { state, before: before?.toISOString() })) as { removed: number }
    return { removed }
  }

  async stats(): Promise<Stats> {
    return (await this.ok('GET', '/api/stats', ['channels', 'array'])) as Stats
  }

  async crons(): Promise<{ crons: unknown[] }> {
    return (await this.ok('GET', '/api/crons', ['crons', 'array'])) as { crons: unknown[] }
  }

  async cluster(): Promise<ClusterView> {
    return (await this.ok('GET', '/api/cluster', ['nodes', 'array'])) as ClusterView
  }

  async batches(filter: BatchesFilter): Promise<BatchesPage> {
    return (await this.ok('GET', `/api/batches?${queryOf(filter)}`, ['batches', 'array'])) as BatchesPage
  }

  async close(): Promise<void> {}

  /** The body of a 200 answer, holding `field`; any other status is a Refusal. */
  private async ok(method: 'GET' | 'POST', route: string, field: Field, body?: unknown): Promise<unknown> {
    const answer = await this.request(method, route, body)
    if (answer.status !== 200) throw this.refusal(answer)
    if (!holds(answer.body, field)) throw notApi(`${method} ${this.base}${route}`, answer.status, 'JSON that is not', JSON.stringify(answer.body))
    return answer.body
  }

  private async request(method: 'GET' | 'POST', route: string, body?: unknown): Promise<Answer> {
    const headers: Record<string, string> = { accept: 'application/json' }
    if (this.token !== undefined) headers.authorization = `Bearer ${this.token}`
    if (body !== undefined) headers['content-type'] = 'application/json'
    const where = `${method} ${this.base}${route}`
    let response: Response
    try {
      response = await fetch(this.base + route, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      })
    } catch (error) {
      throw new Refusal({ name: 'ConnectionError', code: 'UNREACHABLE', message: `cannot reach the Wharf dashboard at ${this.base} (${failure(error)}); is the app running, and is --url its dashboard's address?` })
    }
    let text: string
    try {
      text = await response.text()
    } catch (error) {
      // The connection broke, or the request timed out, after the headers.
      throw new Refusal({ name: 'ConnectionError', code: 'UNREACHABLE', message: `${where}: the answer (${response.status}) was cut off (${failure(error)}); the connection to the Wharf dashboard at ${this.base} broke or timed out` })
    }
    try {
      return { status: response.status, body: JSON.parse(text) as unknown }
    } catch {
      throw notApi(where, response.status, 'something other than', text)
    }
  }

  private refusal(answer: Answer): Refusal {
    const error = (answer.body as { error?: { name?: unknown; code?: unknown; message?: unknown } } | null)?.error
    const name = typeof error?.name === 'string' ? error.name : `HTTP ${answer.status}`
    const message = typeof error?.message === 'string' ? error.message : `the dashboard answered ${answer.status}: ${JSON.stringify(answer.body).slice(0, 200)}`
    const hint = answer.status === 401 ? ' (give the dashboard token with --token or WHARF_TOKEN)' : ''
    // --json promises { name, code, message }: an answer without Wharf's error (a proxy's) gets its status as code.
    const code = typeof error?.code === 'string' ? error.code : `HTTP_${answer.status}`
    return new Refusal({ name, code, message: message + hint }, answer.status === 400)
  }
}
