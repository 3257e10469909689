/**
 * Words as the keyword index sees them (FTS5 `unicode61 remove_diacritics 2`): letters and digits,
 * case and accents folded. The query evaluator uses the same rule so index and verification agree.
 */
export function words(text: string): string[] {
  return text
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter(Boolean);
}
