// Runs a cluster member script (test/cluster/*.ts) in a process of its own, for the tests that
// SIGKILL one: each line it prints is handed over as words, and the promise resolves with the
// words of its "OPEN …" line (or rejects if it exits before).
import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { nodeArgs } from '../build/node-args.js'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))

export function spawnScript(script: string, args: string[], onLine: (words: string[]) => void): { child: ChildProcess; opened: Promise<string[]> } {
  const child = spawn(process.execPath, [...nodeArgs(fileURLToPath(new URL(script, import.meta.url))), ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
  let stderr = ''
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
  const opened = new Promise<string[]>((resolve, reject) => {
    let buffered = ''
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      const lines = (buffered + chunk).split('\n')
      buffered = lines.pop()!
      for (const line of lines) {
        const words = line.split(' ')
        onLine(words)
        if (words[0] === 'OPEN') resolve(words)
      }
    })
    child.on('exit', (code, signal) => reject(new Error(`${script} ${args.join(' ')} exited (${code ?? signal}) before it opened: ${stderr}`)))
  })
  return { child, opened }
}
