import type { Readable } from 'node:stream';

/**
 * The keys of a JSON object's top level as written, duplicates included (`JSON.parse` keeps only
 * the last of a repeated key, so it cannot see them).
 */
export function topLevelKeys(text: string): string[] {
  const keys: string[] = [];
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '"') {
      let end = i + 1;
      while (end < text.length && text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
      let next = end + 1;
      while (text[next] === ' ') next++;
      if (depth === 1 && text[next] === ':') keys.push(JSON.parse(text.slice(i, end + 1)) as string);
      i = end;
    } else if (ch === '{' || ch === '[') {
      depth++;
    } else if (ch === '}' || ch === ']') {
      depth--;
    }
  }
  return keys;
}

/** The keys written more than once at the top level of a JSON line. */
export function repeatedKeys(text: string): string[] {
  const seen = new Set<string>();
  const repeated = new Set<string>();
  for (const key of topLevelKeys(text)) (seen.has(key) ? repeated : seen).add(key);
  return [...repeated];
}

export interface CollectedLine {
  stream: 'stdout' | 'stderr';
  text: string;
  /** The parsed line, or undefined when it is not a JSON object. */
  json: Record<string, unknown> | undefined;
}

function parseLine(stream: CollectedLine['stream'], text: string): CollectedLine {
  try {
    const parsed: unknown = JSON.parse(text);
    const json = parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : undefined;
    return { stream, text, json };
  } catch {
    return { stream, text, json: undefined };
  }
}

/** Collects the lines of a child's stdout and stderr as they come, parsing each as JSON. */
export function collectLines(streams: { stdout: Readable; stderr: Readable }): CollectedLine[] {
  const lines: CollectedLine[] = [];
  for (const name of ['stdout', 'stderr'] as const) {
    let partial = '';
    streams[name].on('data', (chunk: Buffer) => {
      const parts = (partial + chunk.toString()).split('\n');
      partial = parts.pop() ?? '';
      for (const text of parts) if (text !== '') lines.push(parseLine(name, text));
    });
    streams[name].on('end', () => {
      if (partial) lines.push(parseLine(name, partial));
      partial = '';
    });
  }
  return lines;
}
