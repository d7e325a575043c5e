/**
 * Peer-controlled text for a human-readable line: C0/C1 control characters (ESC, BEL, CR...) shown
 * escaped (`\x1b`), so a server cannot clear the screen or set the window title through a status
 * message or a service name. Data on stdout in --json stays exact (JSON escapes them itself).
 *
 * Local to the gRPC slice for now: a shared escaping function for every slice is meant to live in
 * src/output/; this one can give way to it.
 */
export function escapeControls(text: string): string {
  return text.replace(/[\u0000-\u0008\u000a-\u001f\u007f-\u009f]/g, (c) => {
    const code = c.charCodeAt(0);
    return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : c;
  });
}
