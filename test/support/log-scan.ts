/** A value that must never reach a log, and what kind of value it is (the kind is safe to print). */
export type Secret = { kind: string; value: string };

/** Where a secret was found: the line's number, message and keys, never the value itself. */
export type Leak = { kind: string; line: number; msg: string; keys: string[] };

/** An NHS number as written by people and systems: plain, 3-3-4 with spaces, and with dashes. */
export function nhsNumberForms(nhs: string): string[] {
  const [a, b, c] = [nhs.slice(0, 3), nhs.slice(3, 6), nhs.slice(6)];
  return [nhs, `${a} ${b} ${c}`, `${a}-${b}-${c}`];
}

/** A YYYY-MM-DD date in the forms a log might carry it: ISO, UK and US slashes, dashes, compact. */
export function dateForms(iso: string): string[] {
  const [y, m, d] = iso.split('-') as [string, string, string];
  return [iso, `${d}/${m}/${y}`, `${m}/${d}/${y}`, `${d}-${m}-${y}`, `${y}${m}${d}`, `${y}/${m}/${d}`];
}

/** A postcode with and without its space. */
export function postcodeForms(postcode: string): string[] {
  const compact = postcode.replace(/\s+/g, '');
  return [...new Set([postcode, compact, `${compact.slice(0, -3)} ${compact.slice(-3)}`])];
}

/** A UK phone number as given, as its digits alone, and in E.164 (as the service holds it). */
export function phoneForms(phone: string): string[] {
  const digits = phone.replace(/\D/g, '');
  return [...new Set([phone, digits, ...(digits.startsWith('0') ? [`+44${digits.slice(1)}`, `44${digits.slice(1)}`] : [])])];
}

/** A JWT whole, and its payload and signature alone (the header is the same for every token). */
export function tokenForms(token: string): string[] {
  const [, payload, signature] = token.split('.');
  return [token, ...(payload ? [payload.slice(0, 40)] : []), ...(signature ? [signature.slice(0, 40)] : [])];
}

/** An opaque secret (a stream ticket) whole, and its first 16 characters. */
export function opaqueForms(secret: string): string[] {
  return [secret, secret.slice(0, 16)];
}

/** Builds the secret list of one kind from values and a function giving each value's forms. */
export function secretsOf(kind: string, values: readonly string[], forms: (v: string) => string[] = (v) => [v]): Secret[] {
  return values.flatMap((v) => forms(v).map((value) => ({ kind, value })));
}

function describeLine(line: string): { msg: string; keys: string[] } {
  try {
    const parsed = JSON.parse(line) as Record<string, unknown>;
    return { msg: typeof parsed.msg === 'string' ? parsed.msg : '(no msg)', keys: Object.keys(parsed) };
  } catch {
    return { msg: '(not JSON)', keys: [] };
  }
}

/** A leak as one readable line: the kind of value and where, never the value. */
export const describeLeak = (leak: Leak) => `${leak.kind} in log line ${leak.line} (msg "${leak.msg}", keys ${leak.keys.join(',')})`;

/** Every place a secret appears in the log lines (case-insensitively), reported without the value. */
export function findLeaks(lines: readonly string[], secrets: readonly Secret[]): Leak[] {
  const wanted = secrets.filter((s) => s.value.length >= 4).map((s) => ({ kind: s.kind, value: s.value.toLowerCase() }));
  const leaks: Leak[] = [];
  lines.forEach((line, index) => {
    const lower = line.toLowerCase();
    const kinds = new Set(wanted.filter((s) => lower.includes(s.value)).map((s) => s.kind));
    for (const kind of kinds) leaks.push({ kind, line: index + 1, ...describeLine(line) });
  });
  return leaks;
}
