/** Char codes of JSON's structural characters and of its escape, for scans of JSON text with charCodeAt. */
export const QUOTE = 34;
export const COMMA = 44;
export const COLON = 58;
export const OPEN_OBJECT = 123;
export const CLOSE_OBJECT = 125;
export const OPEN_ARRAY = 91;
export const CLOSE_ARRAY = 93;
/** Escapes the next character inside a string. */
export const BACKSLASH = 92;
