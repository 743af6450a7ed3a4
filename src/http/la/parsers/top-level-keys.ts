/**
 * The member names of a JSON object's top level, in the order the text gives them, repeats included.
 * `text` must already have parsed as JSON (JSON.parse keeps only the last of a repeated member, and
 * puts names that look like array indexes first, so neither repeats nor positions survive parsing).
 * Returns undefined when the text is not an object.
 */
export function topLevelKeys(text: string): string[] | undefined {
  let i = 0;
  const skipSpace = () => {
    while (i < text.length && (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r' || text[i] === '\ufeff')) i++;
  };
  /** From an opening quote, past its closing quote; the raw text of the string, quotes included. */
  const readString = () => {
    const start = i++;
    while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    i++;
    return text.slice(start, i);
  };
  skipSpace();
  if (text[i] !== '{') return undefined;
  i++;
  const keys: string[] = [];
  let depth = 1;
  while (i < text.length && depth > 0) {
    const c = text[i];
    if (c === '"') {
      const raw = readString();
      if (depth === 1) {
        skipSpace();
        if (text[i] === ':') keys.push(raw.includes('\\') ? (JSON.parse(raw) as string) : raw.slice(1, -1));
      }
      continue;
    }
    if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') depth--;
    i++;
  }
  return keys;
}
