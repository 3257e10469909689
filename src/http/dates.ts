/** Dates a client sends: ISO 8601, checked for days that do not exist (Date would read 2024-02-30 as March 1st). */

const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?$/i;

/** Whether the calendar day exists (years 0000-0099 included, which Date.UTC would move to the 1900s). */
export function realDate(year: number, month: number, day: number): boolean {
  const d = new Date(0);
  d.setUTCFullYear(year, month - 1, day);
  return d.getUTCFullYear() === year && d.getUTCMonth() === month - 1 && d.getUTCDate() === day;
}

/**
 * An ISO 8601 date (`2024-01-31`) or date-time (`2024-01-31T08:00:00.45Z`, an offset, or none for UTC),
 * or undefined when the text is not one or names a day or time that does not exist.
 */
export function parseDateTime(text: unknown): Date | undefined {
  if (typeof text !== 'string') return undefined;
  const m = ISO.exec(text);
  if (!m || !realDate(Number(m[1]), Number(m[2]), Number(m[3]))) return undefined;
  const d = new Date(/t/i.test(text) && m[4] === undefined ? `${text}Z` : text);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

/** As parseDateTime, for a date-time whose time part is required (`2024-01-31` alone is undefined). */
export function parseDateAndTime(text: unknown): Date | undefined {
  return typeof text === 'string' && /^\d{4}-\d{2}-\d{2}T/i.test(text) ? parseDateTime(text) : undefined;
}
