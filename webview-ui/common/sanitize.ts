/// <reference lib="dom" />
/** DOMPurify, configured once: every piece of documentation or model output passes through here. */
import DOMPurify from 'dompurify';

// Images load only over https or as data: URIs. Anything else would be refused by the CSP
// (`img-src ${cspSource} https: data:`) and reported as a violation, or would let a document
// reach the user's network over plain http.
DOMPurify.addHook('afterSanitizeAttributes', (node) => {
  if (node.nodeName === 'IMG') {
    const src = node.getAttribute('src') ?? '';
    if (!/^(https:|data:image\/)/i.test(src)) node.removeAttribute('src');
    node.setAttribute('loading', 'lazy');
  }
  if (node.nodeName === 'A' && node.hasAttribute('href')) {
    node.setAttribute('rel', 'noopener noreferrer');
  }
});

/** Sanitizes HTML into a fragment of the current document (no style attributes, no forms). */
export function sanitizeHtml(html: string): DocumentFragment {
  return DOMPurify.sanitize(html, {
    USE_PROFILES: { html: true },
    // Inline styles would be refused by the CSP anyway; forms and inputs have no place in docs.
    FORBID_ATTR: ['style'],
    FORBID_TAGS: ['style', 'form', 'input', 'button', 'textarea', 'select'],
    RETURN_DOM_FRAGMENT: true,
  });
}

/** Sanitizes SVG markup (e.g. from `barChartSvg`) with DOMPurify's SVG profile. */
export function sanitizeSvg(svg: string): DocumentFragment {
  return DOMPurify.sanitize(svg, {
    USE_PROFILES: { svg: true },
    FORBID_ATTR: ['style'],
    RETURN_DOM_FRAGMENT: true,
  });
}
