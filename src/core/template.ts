/**
 * The contract's templates for commands that send many messages: `{{seq}}` (1, 2, 3...), `{{uuid}}`,
 * `{{time}}` (ISO 8601) and `{{unix}}` (seconds). Unknown placeholders are left as written.
 */
const PLACEHOLDER = /\{\{\s*(seq|uuid|time|unix)\s*\}\}/g;

export function hasTemplate(text: string): boolean {
  PLACEHOLDER.lastIndex = 0;
  return PLACEHOLDER.test(text);
}

export function expandTemplate(text: string, seq: number, now?: Date): string {
  if (!text.includes('{{')) return text;
  // One instant per message ({{time}} and {{unix}} agree), taken only when a placeholder needs it.
  let at = now;
  return text.replace(PLACEHOLDER, (_m, name: string) => {
    switch (name) {
      case 'seq':
        return String(seq);
      case 'uuid':
        return globalThis.crypto.randomUUID();
      case 'time':
        at ??= new Date();
        return at.toISOString();
      default:
        at ??= new Date();
        return String(Math.floor(at.getTime() / 1000));
    }
  });
}
