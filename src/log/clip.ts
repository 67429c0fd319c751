/** The longest a client-supplied text (type URL, resource name, node id) is written in a log line. */
export const LOG_FIELD_CHARS = 256;
/** The longest a client's free-form message (a NACK's error_detail) is written in a log line. */
export const LOG_DETAIL_CHARS = 1024;

/**
 * `text` cut to its first `max` characters with a marker saying how much was
 * cut (`abc…[+1234 chars]`), or `text` itself when it fits. For text a client
 * chose: one request must not be able to make a log line, or a stored field,
 * as long as the request.
 */
export function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}…[+${text.length - max} chars]`;
}
