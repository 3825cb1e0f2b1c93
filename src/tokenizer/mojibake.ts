/**
 * The common mojibake repairs of ftfy's `fix_encoding`, kept deliberately narrow.
 *
 * Mojibake is UTF-8 that was decoded as Windows-1252 (or Latin-1): "é" is the bytes C3 A9, which read as
 * Windows-1252 are the two characters "Ã©". The repair maps such characters back to their bytes and decodes
 * those as UTF-8. ftfy decides WHEN to do this with a large "badness" heuristic; we instead repair only
 * character runs shaped exactly like one UTF-8 sequence (a lead byte followed by the right number of
 * continuation bytes) that decode cleanly. That catches "Ã©", "Ã¼", "â€™", "â€“", "Â°", "Î±" and emoji
 * such as "ðŸ§¬", while leaving ordinary text with accents alone. What this misses (and ftfy fixes) is listed
 * in docs/tokenizer.md: mojibake through other code pages (MacRoman, cp437, Windows-1251...), the
 * "Ã la mode" non-breaking-space repair, and whole-line re-decoding of ambiguous 3-byte runs.
 */
import { type Aligned, replaceMatches } from './aligned.js';

/** Windows-1252 bytes 0x80..0x9F; the five bytes it leaves undefined pass through as C1 controls. */
const CP1252_HIGH = '€\x81‚ƒ„…†‡ˆ‰Š‹Œ\x8dŽ\x8f\x90‘’“”•–—˜™š›œ\x9džŸ';

/** Character → the single byte that produced it under sloppy Windows-1252 / Latin-1 (or -1). */
const BYTE_OF: ReadonlyMap<string, number> = (() => {
  const m = new Map<string, number>();
  for (let b = 0x80; b <= 0xff; b++) m.set(String.fromCharCode(b), b);
  for (let i = 0; i < CP1252_HIGH.length; i++) m.set(CP1252_HIGH[i], 0x80 + i);
  return m;
})();

/** Characters that stand for a UTF-8 continuation byte (0x80..0xBF) under either code page. */
const CONT = `[\\x80-\\xbf${CP1252_HIGH.replace(/[\x80-\x9f]/g, '')}]`;

/**
 * A lead byte for 2, 3 or 4 byte UTF-8 followed by exactly its continuation bytes. The 2-byte leads skip
 * "×" (D7) and "ß" (DF): "×µl", "×400" and „Straße“ are everyday text, while the Hebrew and NKo letters
 * those bytes would start are rare in this model's captions.
 */
const SEQUENCE = new RegExp(`[\\xc2-\\xd6\\xd8-\\xde]${CONT}|[\\xe0-\\xef]${CONT}{2}|[\\xf0-\\xf4]${CONT}{3}`, 'g');

/**
 * Typographic punctuation that also follows accented letters in correct text ("Brontë…”" is not the
 * mojibake of U+B154): a 3-byte run whose continuations are all from this set is left alone, as ftfy does.
 */
const TYPOGRAPHIC = new Set(['…', '”', '“', '’', '‘', '–', '—', '•']);

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The UTF-8 text these characters' bytes spell, or the run unchanged if they are not valid UTF-8. */
function redecode(run: string): string {
  const chars = Array.from(run);
  if (chars.length === 3 && TYPOGRAPHIC.has(chars[1]) && TYPOGRAPHIC.has(chars[2])) return run;
  const bytes = new Uint8Array(chars.length);
  for (let i = 0; i < chars.length; i++) {
    const b = BYTE_OF.get(chars[i]);
    if (b === undefined) return run;
    bytes[i] = b;
  }
  try {
    return utf8.decode(bytes);
  } catch {
    return run; // overlong forms, surrogates and the like: not mojibake we can trust
  }
}

/** Repairs each UTF-8-shaped run of Windows-1252/Latin-1 characters (ftfy's decode_inconsistent_utf8). */
export function fixMojibake(src: Aligned): Aligned {
  if (!/[\xc2-\xf4]/.test(src.text)) return src;
  return replaceMatches(src, SEQUENCE, (m) => redecode(m[0]));
}

/**
 * ftfy `fix_c1_controls`: C1 control characters left over are Windows-1252 bytes read as Latin-1, so
 * U+0092 becomes ’ (and later a straight quote). The five bytes Windows-1252 leaves undefined stay.
 */
export function fixC1Controls(src: Aligned): Aligned {
  return replaceMatches(src, /[\x80-\x9f]/g, (m) => CP1252_HIGH[m[0].charCodeAt(0) - 0x80]);
}
