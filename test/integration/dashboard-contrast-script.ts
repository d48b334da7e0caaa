/**
 * Page-side script (text, because the Node tsconfig has no DOM types) that lists every rendered
 * text whose colour has less than 4.5:1 contrast (WCAG AA) with the first opaque background
 * behind it. SVG text is measured by its fill.
 */
export const LOW_CONTRAST_SCRIPT = `(() => {
  const parse = (text) => {
    const parts = (text.match(/[\\d.]+/g) || []).map(Number);
    return parts.length < 3 ? null : { r: parts[0], g: parts[1], b: parts[2], a: parts.length > 3 ? parts[3] : 1 };
  };
  const channel = (v) => { const s = v / 255; return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4; };
  const luminance = (c) => 0.2126 * channel(c.r) + 0.7152 * channel(c.g) + 0.0722 * channel(c.b);
  const backgroundOf = (el) => {
    for (let node = el; node; node = node.parentElement) {
      const c = parse(getComputedStyle(node).backgroundColor);
      if (c && c.a > 0) return c;
    }
    return { r: 255, g: 255, b: 255, a: 1 };
  };
  const low = [];
  for (const el of document.querySelectorAll('body *')) {
    if (['TITLE', 'OPTION', 'SCRIPT', 'STYLE', 'title'].includes(el.tagName)) continue;
    const ownText = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim() !== '');
    if (!ownText || el.getClientRects().length === 0) continue;
    const style = getComputedStyle(el);
    const fg = parse(el instanceof SVGElement ? style.fill : style.color);
    if (!fg) continue;
    const [a, b] = [luminance(fg), luminance(backgroundOf(el))].sort((x, y) => y - x);
    const ratio = (a + 0.05) / (b + 0.05);
    if (ratio < 4.5) low.push(el.tagName + ' "' + el.textContent.trim().slice(0, 40) + '" ' + ratio.toFixed(2));
  }
  return low;
})()`;
