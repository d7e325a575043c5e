import { UsageError } from '../../errors/comms-error.js';

/**
 * MQTT topic rules (MQTT 5 §4.7), checked before anything is sent: not empty, at most 65535 bytes,
 * no NUL; a topic name has no wildcards; in a filter `#` is alone in the last level and `+` alone in
 * its level (`a/#/b`, `a/b#`, `a+/b` are invalid).
 */
export function validateTopic(
  topic: string,
  { filter, flag = 'topic' }: { filter: boolean; flag?: string },
): void {
  const bad = (why: string) => new UsageError(`invalid ${flag} '${topic}': ${why}`);
  if (topic === '') throw bad('empty');
  if (Buffer.byteLength(topic, 'utf8') > 65_535) throw bad('longer than 65535 bytes');
  if (topic.includes('\u0000')) throw bad('contains NUL');
  if (!filter) {
    if (/[+#]/.test(topic)) throw bad("wildcards '+' and '#' are for subscriptions, not for publishing");
    return;
  }
  const levels = topic.split('/');
  levels.forEach((level, i) => {
    if (level.includes('#') && (level !== '#' || i !== levels.length - 1))
      throw bad("'#' must be a whole level and the last one (a/#)");
    if (level.includes('+') && level !== '+') throw bad("'+' must be a whole level (a/+/c)");
  });
}
