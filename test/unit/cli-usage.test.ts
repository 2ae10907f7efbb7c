// Proves the CLI's handling of bad usage — exit code 2 with the command's usage line on stderr and
// nothing on stdout — and its help and version. A few cases run as real processes (the exit code
// and streams of the actual command); the full table of bad values calls main() in this process,
// where nothing is opened or sent (each is refused before that), to keep the suite fast.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { main } from '../../src/cli/main.js'
import { ROOT, wharf } from './cli-helpers.js'

async function run(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = ''
  let err = ''
  const code = await main(args, { out: { write: (t: string) => (out += t) }, err: { write: (t: string) => (err += t) } })
  return { code, out, err }
}

const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version

describe('bad usage, as a real process', () => {
  it('an unknown command: exit 2, the general usage line on stderr', async () => {
    const r = await wharf('frobnicate')
    expect(r).toEqual({ code: 2, out: '', err: 'wharf: unknown command "frobnicate"\nusage: wharf <command> [options]   (wharf help: the commands)\n' })
  })

  it("an unknown flag: exit 2, the command's usage line", async () => {
    const r = await wharf('jobs', '--path', '/nowhere', '--colour')
    expect([r.code, r.out]).toEqual([2, ''])
    expect(r.err).toMatch(/^wharf jobs: Unknown option '--colour'.*\nusage: wharf jobs \(--path DIR \| --url URL \[--token T\] \| --postgres URL \[--schema S\]\) \[--state S\]/)
  })

  it('a bad value: exit 2, naming it', async () => {
    const r = await wharf('jobs', '--url', 'http://127.0.0.1:1', '--state', 'sleeping')
    expect(r.code).toBe(2)
    expect(r.err).toContain('--state "sleeping" is not a job state; states: wait_dependencies, pending')
  })

  it('no command: exit 2, the help on stderr', async () => {
    const r = await wharf()
    expect([r.code, r.out]).toEqual([2, ''])
    expect(r.err).toContain('commands:')
  })

  it('--version prints the package version', async () => {
    expect(await wharf('--version')).toEqual({ code: 0, out: `${VERSION}\n`, err: '' })
  })
})

describe('bad usage, every kind', () => {
  const cases: [args: string[], message: string][] = [
    [['jobs'], 'give --path DIR, --url URL or --postgres URL'],
    [['jobs', '--path', 'a', '--url', 'http://x'], 'give one of --path, --url and --postgres, not --path and --url'],
    [['jobs', '--url', 'http://x', '--postgres', 'postgres://h/db'], 'not --url and --postgres'],
    [['jobs', '--path', 'a', '--token', 't'], '--token goes with --url'],
    [['jobs', '--postgres', 'postgres://h/db', '--token', 't'], '--token goes with --url (a cluster on PostgreSQL has no token)'],
    [['jobs', '--postgres', 'mysql://h/db'], '--postgres must be a connection URL such as postgres://'],
    // The driver's URL parser threw these as a raw TypeError (a stack trace, exit 1).
    [['jobs', '--postgres', 'postgres://u:secret@h:notaport/db'], '--postgres must be a connection URL such as postgres://user@127.0.0.1:5432/app, got "postgres://u:***@h:notaport/db": it does not parse as a URL'],
    [['jobs', '--postgres', 'postgres://u:p%zz@h/db'], 'got "postgres://u:***@h/db": a %-escape in it is malformed'],
    [['jobs', '--path', 'a', '--schema', 's'], '--schema goes with --postgres'],
    [['stats', '--postgres', 'postgres://h/db', '--schema', 'Bad-Name'], '--schema must be a lowercase SQL identifier'],
    [['jobs', '--postgres', 'postgres://h/db', '--schema', 'public'], "--schema must be a schema of Wharf's own, not public"],
    [['backup', '--postgres', 'postgres://h/db', '--to', 'b'], "--postgres: backup and restore are of a LevelDB store on disk; a cluster's jobs live in PostgreSQL"],
    [['restore', 'b', '--schema', 's'], '--schema: backup and restore are of a LevelDB store'],
    [['verify', '--postgres', 'postgres://h/db'], '--postgres: verify checks a LevelDB store on disk'],
    [['dashboard', '--path', 'a', '--postgres', 'postgres://h/db'], 'give --path or --postgres, not both'],
    [['jobs', '--path', 'a', '--limit', '0'], '--limit must be an integer from 1 to 10000, got "0"'],
    [['jobs', '--path', 'a', '--limit', '2.5'], '--limit must be an integer from 1 to 10000, got "2.5"'],
    [['jobs', '--path', 'a', '--limit'], "Option '--limit <value>' argument missing"],
    [['jobs', '--path', 'a', '--order', 'newest'], '--order must be asc or desc, got "newest"'],
    [['jobs', '--path', 'a', '--function', 'sync'], '--function must be model.method'],
    [['jobs', '--path', 'a', '--function', 'res.partner.'], '--function must be model.method'],
    [['jobs', '--path', 'a', 'extra'], 'unexpected argument "extra"'],
    [['jobs', '--url', 'ftp://host'], '--url must be an http:// or https:// URL, got "ftp://host"'],
    [['jobs', '--url', 'not a url'], '--url must be a URL'],
    [['jobs', '--url', 'http://h/?x=1'], 'without a query or fragment'],
    [['show', '--path', 'a'], 'missing UUID'],
    [['show', 'u1', 'u2', '--path', 'a'], 'unexpected argument "u2"'],
    [['explain', '--path', 'a'], 'missing UUID'],
    [['requeue', '--path', 'a'], 'missing UUID'],
    [['cancel', '--url', 'http://x'], 'missing UUID'],
    [['done', '', '--path', 'a'], 'UUID must not be empty'],
    [['stats', '--path', ''], '--path needs a value'],
    [['verify'], 'missing --path'],
    [['verify', '--url', 'http://x'], "Unknown option '--url'"],
    [['backup', '--path', 'a'], 'missing --to'],
    [['restore', '--path', 'a'], 'missing BACKUPDIR'],
    [['restore', 'b'], 'missing --path'],
    [['dashboard'], 'missing --path (or --postgres)'],
    [['dashboard', '--path', 'a', '--port', '70000'], '--port must be an integer from 0 to 65535'],
    // parseArgs keeps the last of a repeated option: `--state failed --state done` listed (or
    // purged) done jobs only, and `--path prod --path staging` acted on staging, without a word.
    [['jobs', '--path', 'a', '--state', 'failed', '--state', 'done'], '--state is given more than once'],
    [['purge', '--path', 'a', '--state', 'failed', '--state=done'], '--state is given more than once'],
    [['requeue', 'u1', '--path', 'a', '--path', 'b'], '--path is given more than once'],
    // A UUID argument that cannot be one: --url refused it (HTTP 400, exit 2; for requeue, the
    // whole call) while --path looked it up and reported it unknown (exit 1), acting on the others.
    [['show', 'a b', '--path', 'a'], 'UUID "a b" cannot be a job uuid'],
    [['explain', 'x'.repeat(201), '--path', 'a'], `UUID "${'x'.repeat(201)}" cannot be a job uuid`],
    [['requeue', 'u1', 'u\u001b2', '--path', 'a'], 'UUID "u\\u001b2" cannot be a job uuid'],
    [['remove', 'u1', 'u 2', '--url', 'http://x'], 'UUID "u 2" cannot be a job uuid'],
  ]
  for (const [args, message] of cases) {
    it(`wharf ${args.join(' ')}`, async () => {
      const r = await run(...args)
      expect([r.code, r.out]).toEqual([2, ''])
      expect(r.err).toContain(message)
      expect(r.err).toContain(`\nusage: wharf ${args[0]} `)
    })
  }

  // fetch() refuses a URL with credentials: the command said it could not reach the dashboard
  // (exit 1) and printed the password it was given, which a command line should not hold anyway.
  it('a --url with a user name or password: exit 2, the password not printed', async () => {
    const r = await run('stats', '--url', 'https://admin:hunter2@ops.example.com/jobs')
    expect([r.code, r.out]).toEqual([2, ''])
    expect(r.err).toContain('--url must not hold a user name or password')
    expect(r.err).toContain('"https://admin:***@ops.example.com/jobs"')
    expect(r.err).not.toContain('hunter2')
  })

  // fetch() refuses a header value with a line break: the command said it could not reach the
  // dashboard (exit 1, "is the app running?") and printed the token, a secret, on stderr.
  it('a --token (or WHARF_TOKEN) no dashboard can have: exit 2, the token not printed', async () => {
    for (const token of ['s3cret\nline', 's3cret word', 's3crét']) {
      const r = await run('stats', '--url', 'http://127.0.0.1:9', '--token', token)
      expect([r.code, r.out]).toEqual([2, ''])
      expect(r.err).toContain('--token must be 1 to 4096 printable ASCII characters without spaces, as a dashboard\'s token is')
      expect(r.err).not.toContain('s3cr')
    }
    const saved = process.env.WHARF_TOKEN
    process.env.WHARF_TOKEN = 's3cret\tword'
    try {
      const r = await run('jobs', '--url', 'http://127.0.0.1:9')
      expect([r.code, r.out]).toEqual([2, ''])
      expect(r.err).toContain('WHARF_TOKEN must be 1 to 4096 printable ASCII characters without spaces')
      expect(r.err).not.toContain('s3cr')
      const d = await run('dashboard', '--path', '/nowhere', '--token', 'a b')
      expect([d.code, d.err]).toEqual([2, expect.stringContaining('--token must be 1 to 4096 printable ASCII')])
    } finally {
      if (saved === undefined) delete process.env.WHARF_TOKEN
      else process.env.WHARF_TOKEN = saved
    }
  })

  it('help for an unknown command', async () => {
    expect((await run('help', 'frob')).code).toBe(2)
  })
})

describe('help', () => {
  it('wharf help lists every command, on stdout', async () => {
    const r = await run('help')
    expect(r.code).toBe(0)
    for (const name of ['jobs', 'show', 'explain', 'requeue', 'cancel', 'done', 'stats', 'crons', 'verify', 'backup', 'restore', 'dashboard']) expect(r.out).toMatch(new RegExp(`^  ${name} +\\S`, 'm'))
    expect(r.out).toContain('Exit codes: 0 success, 1 a refused action or a problem found, 2 bad usage.')
  })

  it('wharf <command> --help and wharf help <command> print its usage and options', async () => {
    const r = await run('jobs', '--help')
    expect(r.code).toBe(0)
    expect(r.out).toMatch(/^usage: wharf jobs /)
    expect(r.out).toContain('--limit N')
    expect(await run('help', 'jobs')).toEqual(r)
    expect((await run('verify', '-h')).out).toContain('never changed')
  })

  // The dashboard API refuses every action when read-only; the help listed five of them, so an
  // operator could take remove and purge (the ones that delete) for allowed.
  // --url pages are bounded by the dashboard's API (1000): the help gave 10000 alone, and
  // `--limit 5000 --url …` was then refused (exit 2) by a bound the help never named.
  it('wharf jobs|batches --help give both bounds of --limit', async () => {
    for (const command of ['jobs', 'batches']) {
      expect((await run(command, '--help')).out).toContain('  --limit N     rows per page, 1 to 10000 (default 50; 1 to 1000 with --url)\n')
    }
  })

  it('wharf dashboard --help lists every action --read-only refuses', async () => {
    const r = await run('dashboard', '--help')
    expect(r.out).toMatch(/--read-only +refuse every action: requeue, cancel, done, remove, purge, and pausing or resuming\n +a channel or a cron\n/)
  })
})
