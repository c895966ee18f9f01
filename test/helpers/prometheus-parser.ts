/**
 * A strict parser of the Prometheus text exposition format 0.0.4, for tests. It throws on anything the format
 * does not allow or that Prometheus would reject: bad names, bad escapes, a TYPE after samples or repeated, the
 * samples of one metric not together, a duplicate series, a missing final line feed.
 */

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

export interface Sample {
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
  readonly timestampMs: number | undefined;
}

export interface MetricFamily {
  readonly name: string;
  type: MetricType | undefined;
  help: string | undefined;
  readonly samples: Sample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

export function parsePrometheus(text: string): Map<string, MetricFamily> {
  if (text.length > 0 && !text.endsWith('\n')) throw new Error('the exposition must end with a line feed');
  const families = new Map<string, MetricFamily>();
  const finished = new Set<string>();
  const series = new Set<string>();
  let current: string | undefined;
  const family = (name: string): MetricFamily => {
    let f = families.get(name);
    if (!f) families.set(name, (f = { name, type: undefined, help: undefined, samples: [] }));
    return f;
  };
  const lines = text.split('\n').slice(0, -1);
  lines.forEach((line, i) => {
    const at = `line ${i + 1} (${JSON.stringify(line)})`;
    if (line.trim() === '') return;
    if (line.startsWith('#')) {
      const m = /^#\s+(HELP|TYPE)\s+(\S+)(?:\s(.*))?$/.exec(line);
      if (!m) return; // a plain comment
      const [, keyword, name, rest = ''] = m;
      if (!METRIC_NAME.test(name!) || METRIC_NAME.exec(name!)![0] !== name) throw new Error(`${at}: bad metric name`);
      const f = family(name!);
      if (keyword === 'HELP') {
        if (f.help !== undefined) throw new Error(`${at}: second HELP for ${name}`);
        f.help = unescape(rest, false, at);
      } else {
        if (f.type !== undefined) throw new Error(`${at}: second TYPE for ${name}`);
        if (f.samples.length > 0) throw new Error(`${at}: TYPE after samples of ${name}`);
        if (!TYPES.has(rest)) throw new Error(`${at}: unknown type ${rest}`);
        f.type = rest as MetricType;
      }
      return;
    }
    const nameMatch = METRIC_NAME.exec(line);
    if (!nameMatch) throw new Error(`${at}: a sample must start with a metric name`);
    const name = nameMatch[0];
    let pos = name.length;
    const labels: Record<string, string> = {};
    if (line[pos] === '{') {
      pos++;
      while (line[pos] !== '}') {
        const ln = LABEL_NAME.exec(line.slice(pos));
        if (!ln) throw new Error(`${at}: bad label name at ${pos}`);
        if (ln[0].startsWith('__')) throw new Error(`${at}: reserved label name ${ln[0]}`);
        pos += ln[0].length;
        if (line[pos] !== '=' || line[pos + 1] !== '"') throw new Error(`${at}: expected =" after ${ln[0]}`);
        pos += 2;
        let raw = '';
        while (pos < line.length && line[pos] !== '"') {
          if (line[pos] === '\\') {
            raw += line.slice(pos, pos + 2);
            pos += 2;
          } else raw += line[pos++];
        }
        if (line[pos] !== '"') throw new Error(`${at}: unterminated label value`);
        pos++;
        if (Object.hasOwn(labels, ln[0])) throw new Error(`${at}: label ${ln[0]} twice`);
        labels[ln[0]] = unescape(raw, true, at);
        if (line[pos] === ',') pos++;
        else if (line[pos] !== '}') throw new Error(`${at}: expected , or } at ${pos}`);
      }
      pos++;
    }
    const rest = line.slice(pos);
    const vm = /^ (\S+)(?: (-?\d+))?$/.exec(rest);
    if (!vm) throw new Error(`${at}: expected " value [timestamp]"`);
    const value = parseValue(vm[1]!, at);
    const f = family(name);
    if (current !== name) {
      if (finished.has(name)) throw new Error(`${at}: samples of ${name} are not together`);
      if (current !== undefined) finished.add(current);
      current = name;
    }
    const key = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
    if (series.has(key)) throw new Error(`${at}: duplicate series`);
    series.add(key);
    f.samples.push({ labels, value, timestampMs: vm[2] === undefined ? undefined : Number(vm[2]) });
  });
  return families;
}

function parseValue(text: string, at: string): number {
  if (text === 'NaN') return Number.NaN;
  if (text === '+Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text)) throw new Error(`${at}: bad value ${text}`);
  return Number(text);
}

/** Label values allow \\, \" and \n; HELP text allows \\ and \n. Anything else after a backslash is an error. */
function unescape(raw: string, quotes: boolean, at: string): string {
  return raw.replace(/\\(.)/g, (_, c: string) => {
    if (c === '\\') return '\\';
    if (c === 'n') return '\n';
    if (c === '"' && quotes) return '"';
    throw new Error(`${at}: bad escape \\${c}`);
  });
}
