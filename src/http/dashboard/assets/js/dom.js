// @ts-check
// Every alert field is attacker-controlled: this is the only way the page builds markup, and it
// sets text with textContent and attributes with setAttribute, never parsing HTML.

// Bidirectional controls reorder the text around them: a file named "/tmp/<U+202E>fdp.exe" reads
// "/tmp/exe.pdf" (Trojan Source). Invisible characters make two values look the same: hosts
// "prod-db" and "prod<U+200B>-db" were two chips of identical text (found by review), and so were
// U+00AD, U+2062, U+034F, U+3164, the tag characters U+E0000-U+E007F (astral: hence /u). Shown text
// names every format character and every default-ignorable one (what a font may draw as nothing)
// instead of obeying or hiding it, and the marker's own bracket too: typed as text, "⟨U+202E⟩"
// would look like a real U+202E.
const HIDDEN_CONTROLS = /[\p{Cf}\p{Default_Ignorable_Code_Point}\u27E8]/gu;
// The attributes a reader sees (tooltips, screen readers); data-* and value keep the exact text.
const SHOWN_ATTRIBUTES = new Set(['title', 'aria-label']);

/**
 * Text with each format or default-ignorable character (and the bracket ⟨) written as ⟨U+202E⟩, so
 * it reads in the order it was sent and two values differing by such characters never look the same.
 * @param {string} text
 */
export function revealHiddenControls(text) {
  return text.replace(HIDDEN_CONTROLS, marker);
}

/** @param {string} char */
function marker(char) {
  return `⟨U+${(char.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}⟩`;
}

// Whitespace but the space, and the other control characters: "Terminal shell<LF>", "Terminal
// shell" and "Terminal<TAB>shell" read alike (a review's decoy). Named in a value only (a rule,
// source, hostname, namespace, tag): an output or the details' JSON keeps its lines and tabs.
// U+2800 (Braille blank) is neither, and draws as a space. A space at either end is named too:
// "Terminal shell " and "Terminal shell" differ only by an underline's length (the next review).
const VALUE_WHITESPACE = /[\p{Cc}\p{Zl}\p{Zp}\u00A0\u1680\u2000-\u200A\u202F\u205F\u2800\u3000]|^ | $/gu;

/**
 * A value as shown where it filters (a row's buttons, the suggestions): revealHiddenControls, and
 * every whitespace character but an inner space written as ⟨U+000A⟩ (repeated spaces are kept by the
 * stylesheet), so two values differing by line breaks, tabs, other spaces or a space at either end
 * never look the same.
 * Set it with textContent: el()'s `text` would name the markers' brackets again.
 * @param {string} text
 */
export function revealValue(text) {
  return revealHiddenControls(text).replace(VALUE_WHITESPACE, marker);
}

/**
 * @typedef {{ text?: string | number, className?: string } & Record<string, string | number | boolean | undefined>} Attrs
 */

/**
 * @param {Element} node
 * @param {Attrs} attrs
 * @param {Array<Node | string>} children
 */
function fill(node, attrs, children) {
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue;
    if (name === 'text') node.textContent = revealHiddenControls(String(value));
    else if (name === 'className') node.setAttribute('class', String(value));
    else if (SHOWN_ATTRIBUTES.has(name)) node.setAttribute(name, revealHiddenControls(String(value)));
    else node.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children) node.append(typeof child === 'string' ? revealHiddenControls(child) : child);
  return node;
}

/**
 * Creates an HTML element; strings among the children become text nodes.
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Attrs} [attrs]
 * @param {Array<Node | string>} [children]
 * @returns {HTMLElementTagNameMap[K]}
 */
export function el(tag, attrs = {}, children = []) {
  return /** @type {HTMLElementTagNameMap[K]} */ (fill(document.createElement(tag), attrs, children));
}

/**
 * The element with this id; a missing one is a bug in index.html, so it throws.
 * @template {HTMLElement} T
 * @param {string} id
 * @param {new () => T} type
 * @returns {T}
 */
export function byId(id, type) {
  const node = document.getElementById(id);
  if (!(node instanceof type)) throw new Error(`#${id} is missing from the page`);
  return node;
}

/**
 * Reads a problem+json (or any) error body into one line of text for the user.
 * @param {Response} response
 * @returns {Promise<string>}
 */
export async function describeFailure(response) {
  try {
    const body = await response.json();
    if (body && typeof body.detail === 'string') return `${response.status}: ${body.detail}`;
    if (body && typeof body.title === 'string') return `${response.status}: ${body.title}`;
  } catch {
    // Not JSON: the status says enough.
  }
  return `HTTP ${response.status}`;
}
