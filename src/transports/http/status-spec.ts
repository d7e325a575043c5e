import { UsageError } from '../../errors/comms-error.js';

/** `--expect-status` spec: `200`, `2xx`, `200,204`, `200-299`, or any comma-separated mix. */
export interface StatusMatcher {
  test(status: number): boolean;
  readonly text: string;
}

export function parseStatusSpec(spec: string, flag = '--expect-status'): StatusMatcher {
  const ranges: Array<[number, number]> = [];
  for (const raw of spec.split(',')) {
    const part = raw.trim().toLowerCase();
    const klass = /^([1-5])xx$/.exec(part);
    const range = /^(\d{3})-(\d{3})$/.exec(part);
    if (klass) {
      const base = Number(klass[1]) * 100;
      ranges.push([base, base + 99]);
    } else if (range && Number(range[1]) <= Number(range[2])) {
      ranges.push([Number(range[1]), Number(range[2])]);
    } else if (/^\d{3}$/.test(part)) {
      ranges.push([Number(part), Number(part)]);
    } else {
      throw new UsageError(`invalid ${flag} '${spec}'`, {
        hint: "use e.g. 200, 2xx, '200,204' or 200-299",
      });
    }
  }
  if (ranges.some(([lo, hi]) => lo < 100 || hi > 599)) {
    throw new UsageError(`invalid ${flag} '${spec}': statuses are 100-599`);
  }
  return { text: spec, test: (s) => ranges.some(([lo, hi]) => s >= lo && s <= hi) };
}
