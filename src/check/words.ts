/**
 * Split a command line into words as a POSIX shell does for quoting (no expansion, no shell):
 * whitespace separates, '...' is literal, "..." allows \" \\ \$ \`, a backslash escapes outside quotes.
 * Throws on an unterminated quote.
 */
export function splitWords(line: string): string[] {
  const words: string[] = [];
  let cur = '';
  let inWord = false;
  let i = 0;
  while (i < line.length) {
    const ch = line[i] as string;
    if (ch === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) throw new Error('unterminated single quote');
      cur += line.slice(i + 1, end);
      inWord = true;
      i = end + 1;
    } else if (ch === '"') {
      i += 1;
      let closed = false;
      while (i < line.length) {
        const c = line[i] as string;
        if (c === '"') {
          closed = true;
          i += 1;
          break;
        }
        if (c === '\\' && i + 1 < line.length && '"\\$`\n'.includes(line[i + 1] as string)) {
          cur += line[i + 1];
          i += 2;
          continue;
        }
        cur += c;
        i += 1;
      }
      if (!closed) throw new Error('unterminated double quote');
      inWord = true;
    } else if (ch === '\\' && i + 1 < line.length) {
      cur += line[i + 1];
      inWord = true;
      i += 2;
    } else if (/\s/.test(ch)) {
      if (inWord) words.push(cur);
      cur = '';
      inWord = false;
      i += 1;
    } else {
      cur += ch;
      inWord = true;
      i += 1;
    }
  }
  if (inWord) words.push(cur);
  return words;
}

/** Quote a word for display only when it needs it, so a step's command line can be pasted back. */
export function quoteWord(word: string): string {
  if (word !== '' && /^[\w@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

/** "did you mean": shared with the command line's option values (core/did-you-mean.ts). */
export { didYouMean } from '../core/did-you-mean.js';
