// Helpers shared by the bench scripts (bench/run.mjs, bench/ws.mjs, bench/brokers.mjs): reading a
// child's CPU, medians and ratios, number formatting, and writing a generated section of RESULTS.md.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

/**
 * `bash` arguments that run a command and then print `times` on stderr: its last line is the
 * children's user and system time (`cpuMsFromTimes`). Spawn as `spawn('bash', [...TIMES, cmd, ...args])`.
 */
export const TIMES = ['-c', '"$@"; rc=$?; times >&2; exit $rc', 'bench'];

/** The user+sys CPU (ms) from the last line of bash `times` at the end of `stderr`, or NaN. */
export function cpuMsFromTimes(stderr) {
  const m = /(\d+)m([\d.]+)s (\d+)m([\d.]+)s\s*$/.exec(stderr);
  return m ? (Number(m[1]) * 60 + Number(m[2]) + Number(m[3]) * 60 + Number(m[4])) * 1000 : Number.NaN;
}

/** user+sys CPU of a running process so far, in ms (Linux /proc, 10 ms ticks), or NaN. */
export function procCpuMs(pid) {
  try {
    // Fields after the command name (which may hold spaces): utime and stime are fields 14 and 15.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) * 10;
  } catch {
    return Number.NaN;
  }
}

/** The median of the finite values, or NaN. */
export function median(xs) {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export const fmt = (n, d = 0) =>
  Number.isFinite(n)
    ? n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d })
    : '-';
export const ratio = (a, b) => (Number.isFinite(a) && Number.isFinite(b) && b > 0 ? a / b : Number.NaN);
export const verdict = (ok) => (ok ? 'met' : '**missed**');
/** The last line of a command's stdout as JSON (a --json summary), or {}. */
export const lastJson = (stdout) => JSON.parse(stdout.trim().split('\n').at(-1) || '{}');

/**
 * Replace what lies between the `begin` and `end` markers of `file` with `report`. Without the
 * markers, `missing(text)` gives the whole new text (or undefined: nothing is written). Returns
 * whether the file was written.
 */
export function writeBetween(file, begin, end, report, missing) {
  const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const i = text.indexOf(begin);
  const j = text.indexOf(end);
  const next =
    i >= 0 && j > i ? `${text.slice(0, i + begin.length)}\n${report}\n${text.slice(j)}` : missing?.(text);
  if (next === undefined) return false;
  writeFileSync(file, next);
  return true;
}
