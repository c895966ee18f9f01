/** Small text helpers of the stats page: HTML escaping and HAProxy's ways of printing numbers and durations. */

const ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for an HTML text node or a double-quoted attribute. */
export function esc(value: string | number | undefined): string {
  if (value === undefined) return '';
  const text = String(value);
  return /[&<>"']/.test(text) ? text.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c) : text;
}

/** Digits grouped by three with a narrow no-break space, as HAProxy's page groups them (`9 983`). */
export function grouped(value: string | number | undefined): string {
  if (value === undefined || value === '') return '';
  if (typeof value === 'string' && !/^\d+$/.test(value)) return esc(value);
  const text = String(value);
  if (text.length <= 3) return text;
  let out = '';
  for (let i = 0; i < text.length; i++) {
    if (i > 0 && (text.length - i) % 3 === 0) out += '\u202f';
    out += text[i];
  }
  return out;
}

/**
 * HAProxy's `human_time()`: the two most significant non-zero units of a number of seconds, unpadded
 * (`0s`, `59s`, `1m5s`, `1h`, `2d3h`).
 */
export function humanTime(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const t = Math.floor(seconds);
  let out = '';
  let count = 2;
  if (t >= 86_400) {
    out += `${Math.floor(t / 86_400)}d`;
    count--;
  }
  const h = Math.floor((t % 86_400) / 3600);
  if (count > 0 && h > 0) {
    out += `${h}h`;
    count--;
  }
  const m = Math.floor((t % 3600) / 60);
  if (count > 0 && m > 0) {
    out += `${m}m`;
    count--;
  }
  if ((count > 0 && t % 60 > 0) || t === 0) out += `${t % 60}s`;
  return out;
}

/** The process uptime as HAProxy prints it: `0d 0h00m03s`. */
export function uptime(seconds: number): string {
  const d = Math.floor(seconds / 86_400);
  const h = Math.floor((seconds % 86_400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  return `${d}d ${h}h${String(m).padStart(2, '0')}m${String(s).padStart(2, '0')}s`;
}
