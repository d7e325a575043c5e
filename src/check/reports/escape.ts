/**
 * Escaping for the report formats. Report text comes from the network (bodies, messages, headers), so
 * every writer escapes every value it prints; nothing is trusted to be markup-free.
 */

/**
 * Characters XML 1.0 forbids anywhere, even escaped (https://www.w3.org/TR/xml/#charsets): C0 controls
 * other than tab, LF and CR, lone surrogates, U+FFFE and U+FFFF. The `u` flag makes a lone surrogate one
 * code point, so it falls outside the allowed ranges and is matched.
 */
const XML_FORBIDDEN = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

/** Removes what XML 1.0 cannot carry. */
export function stripXmlForbidden(text: string): string {
  return text.replace(XML_FORBIDDEN, '');
}

const XML_TEXT: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;' };
const XML_ATTR: Record<string, string> = {
  ...XML_TEXT,
  '"': '&quot;',
  "'": '&apos;',
  '\t': '&#9;',
  '\n': '&#10;',
  '\r': '&#13;',
};
const HTML: Record<string, string> = { ...XML_TEXT, '"': '&quot;', "'": '&#39;' };

/** Text content of an XML element. `>` is escaped too, so `]]>` can never appear. */
export function xmlText(text: string): string {
  return stripXmlForbidden(text).replace(/[&<>]/g, (c) => XML_TEXT[c]!);
}

/**
 * An XML attribute value (to be put between double quotes). Tab, LF and CR are written as character
 * references, because a parser normalises literal ones in attributes to spaces.
 */
export function xmlAttr(text: string): string {
  return stripXmlForbidden(text).replace(/[&<>"'\t\n\r]/g, (c) => XML_ATTR[c]!);
}

/**
 * HTML text or attribute value. `://` is written `&#58;//` so the file holds no literal URL: a browser
 * shows the same text, and nothing in the file can be taken for a resource to load.
 */
export function html(text: string): string {
  return stripXmlForbidden(text).replace(/[&<>"']|:\/\//g, (c) => HTML[c] ?? '&#58;//');
}

/** Characters YAML will not take raw in a stream (DEL, C1 controls, U+2028/9, BOM, non-characters). */
const YAML_RAW = /[\u007F-\u009F\u2028\u2029\uFEFF\uFFFE\uFFFF]/g;

/** JSON text (whose strings JSON.stringify already escapes lone surrogates in) made YAML-safe. */
function yamlSafe(json: string): string {
  return json.replace(YAML_RAW, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * A YAML 1.2 double-quoted scalar (for TAP diagnostics). JSON's string syntax is a subset of it; the
 * characters YAML will not take raw (DEL, C1 controls, U+2028/9, BOM, lone surrogates) are escaped too.
 */
export function yamlString(text: string): string {
  return yamlSafe(JSON.stringify(text));
}

/** Any JSON value as YAML 1.2 flow (JSON is YAML), with strings escaped as in `yamlString`. */
export function yamlValue(value: unknown): string {
  if (value === undefined) return 'null';
  if (typeof value === 'string') return yamlString(value);
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch {
    json = undefined;
  }
  if (json === undefined) return yamlString(String(value));
  // Re-escape inside the JSON text: only string contents can hold such characters.
  return yamlSafe(json);
}
