import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import type { CommandContext } from '../../command/context.js';
import { UsageError } from '../../errors/comms-error.js';
import type { LoadSummary } from '../../load/summary.js';

/**
 * The load summaries in the given files: every NDJSON line with `"type":"summary"` and an encoded
 * histogram (what `--json` load runs print). Each becomes one part, named after its file.
 */
export async function readSummaries(
  files: readonly string[],
  ctx: CommandContext,
): Promise<{ name: string; summary: LoadSummary }[]> {
  const parts: { name: string; summary: LoadSummary }[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = file === '-' ? await readStream(ctx.stdin) : await readFile(file, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new UsageError(
        `cannot read '${file}': ${code === 'ENOENT' ? 'no such file' : (err as Error).message}`,
      );
    }
    const found: LoadSummary[] = [];
    for (const line of text.split('\n')) {
      const t = line.trim();
      if (!t.startsWith('{')) continue;
      let value: unknown;
      try {
        value = JSON.parse(t);
      } catch {
        continue;
      }
      const v = value as Partial<LoadSummary>;
      if (v.type === 'summary' && typeof v.histogram?.hdr === 'string' && Array.isArray(v.series))
        found.push(v as LoadSummary);
    }
    if (found.length === 0)
      throw new UsageError(`'${file}' holds no load summary with a histogram`, {
        hint: 'give the --json output of a load run (comms-cli ... -n N --json > run.json)',
      });
    const name = file === '-' ? 'stdin' : basename(file).replace(/\.(nd)?json$/, '');
    for (const [i, summary] of found.entries())
      parts.push({ name: found.length > 1 ? `${name}#${i + 1}` : name, summary });
  }
  return parts;
}

async function readStream(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(c as string));
  return Buffer.concat(chunks).toString('utf8');
}
