// What the worker typed into "Find a child": an NHS number (spaces allowed) or words of a name.

import { formatNhsNumber } from './format.js';

/** → { nhsNumber } | { name } | { error } */
export function parseSearch(text) {
  const value = String(text ?? '').trim().replace(/\s+/g, ' ');
  const digits = value.replace(/[\s-]/g, '');
  if (/^\d+$/.test(digits)) return digits.length === 10 ? { nhsNumber: digits } : { error: 'An NHS number has 10 digits, like 999 000 0018.' };
  if (value.length < 2) return { error: 'Enter an NHS number, or at least 2 letters of the child’s name.' };
  return { name: value.slice(0, 100) };
}

/** How the results are titled: "NHS number 999 000 0018" or "“sam hale”". */
export const describeSearch = (query) => (query.nhsNumber ? `NHS number ${formatNhsNumber(query.nhsNumber)}` : `“${query.name}”`);
