// Proves that the lease's session (pg-lease.ts), once a query of it failed, is given up once and at
// once, and that an answer its client gives after that is refused: the driver (modelled here)
// keeps the statements queued on a client whose connection broke and sends them once it connects
// again — even after it was destroyed, when a reconnection was under way. Before, a member lock,
// node-name lock or the lease asked for on it just before was taken on that connection and held
// beside the lease's next session, whose try of it failed ("another process opened under the node
// name", seen under load after a server restart, the lock's holder an idle session of the same
// process), until that client ended — then freed: the member found dead by the scheduler while it
// ran. And two queries failing together each made a client of their own, one never ended.
import { beforeEach, describe, expect, it, vi } from 'vitest'
import type { PgPool, PgRows } from '../../src/storage/pg-driver.js'

interface Sent {
  text: string
  params: readonly unknown[] | undefined
  resolve(rows: PgRows): void
  reject(error: unknown): void
}

/** A client of the modelled driver: the statements sent on it, waiting until the test answers. */
interface Client {
  sent: Sent[]
  /** How it was ended (what waits on it may be sent all the same, on a reconnection). */
  end: 'open' | 'ended' | 'destroyed'
}

const clients: Client[] = []

vi.mock('../../src/storage/pg-driver.js', async (original) => ({
  ...(await original<typeof import('../../src/storage/pg-driver.js')>()),
  connect: async (): Promise<PgPool> => {
    const client: Client = { sent: [], end: 'open' }
    clients.push(client)
    const refused = (): never => {
      throw new Error('not used by the lease')
    }
    return {
      query: (text, params) =>
        new Promise<PgRows>((resolve, reject) => {
          const sent: Sent = {
            text,
            params,
            resolve: (rows) => settle(sent, () => resolve(rows)),
            reject: (error) => settle(sent, () => reject(error)),
          }
          client.sent.push(sent)
        }),
      transaction: refused,
      pipelined: refused,
      session: refused,
      listen: refused,
      end: async () => {
        client.end = 'ended'
      },
      destroy: async () => {
        client.end = 'destroyed'
      },
    }
    function settle(sent: Sent, answer: () => void): void {
      const at = client.sent.indexOf(sent)
      if (at < 0) return // answered already
      client.sent.splice(at, 1)
      answer()
    }
  },
}))

const { PgLease } = await import('../../src/storage/pg-lease.js')

/** Lets the lease's awaits run (the modelled driver answers nothing by itself). */
const turns = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

describe("the lease's session, after a query of it failed", () => {
  beforeEach(() => {
    clients.length = 0
  })

  it('is given up once and at once, and a lock its client takes after that is refused and its session ended', async () => {
    const lease = new PgLease('postgres://127.0.0.1/wharf', 'the test', 's1')
    await lease.open()
    // A heartbeat's two locks and an election's try of the lease, sent together.
    const member = lease.holdKey('wharf-member:s1:node-a#1')
    const name = lease.holdKey('wharf-node:s1:node-a')
    const lead = lease.tryTake()
    await turns()
    const [first] = clients
    const [memberSent, nameSent, leadSent] = first!.sent
    expect(leadSent?.text).toContain('pg_try_advisory_lock')
    // The connection broke under the first two; the third waits to be sent on its next one.
    const lost = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })
    memberSent!.reject(lost)
    nameSent!.reject(lost)
    await expect(member).rejects.toThrow('ECONNRESET')
    await expect(name).rejects.toThrow('ECONNRESET')
    await turns()
    // One new client, and the old one destroyed at once.
    expect(clients.map((c) => c.end)).toEqual(['destroyed', 'open'])
    // The try waiting on the old one is sent on its reconnection all the same, and takes the lock
    // there (session 1001): its answer is refused (the lease not held), and that session is ended
    // from the new one, so that the lock goes with it.
    leadSent!.resolve({ rows: [{ locked: true, pid: 1001 }], count: 1 })
    await expect(lead).rejects.toThrow('was replaced while a query of it waited')
    expect(lease.held).toBe(false)
    await turns()
    const [terminate] = clients[1]!.sent
    expect(terminate).toMatchObject({ text: 'SELECT pg_terminate_backend($1)', params: [1001] })
    terminate!.resolve({ rows: [{ pg_terminate_backend: true }], count: 1 })
    // The next query goes to the new client.
    const again = lease.holdKey('wharf-member:s1:node-a#1')
    await turns()
    clients[1]!.sent[0]!.resolve({ rows: [{ held: true, pid: 1002 }], count: 1 })
    expect(await again).toBe(true)
  })
})
