"""Page templates of the fictional Lumen Lamps site and a tiny markup language for page bodies.

Every page gets the furniture of a real small-company site (cookie banner, header menu, breadcrumb,
sidebar, previous/next bar, newsletter form, footer, inline analytics, <style>, <noscript>), rendered by
one of four templates so that the extractor cannot rely on a single layout:

- modern: semantic <header>/<main>/<article>/<aside>/<footer>
- legacy: a 2012-style blog theme made only of <div>s (no <main>, no <article>)
- docs:   a docs theme with a long table-of-contents <nav> and a <div role="main">
- shop:   a shop theme for product pages, also only <div>s, with price box and "add to cart" form
- amp:    an AMP copy of a blog post (different head, <amp-consent>, no sidebar)

Boilerplate uses HTML entities (&copy; &rarr; ...) rather than literal symbols, so every template can be
encoded in windows-1252 as well as UTF-8.
"""

from __future__ import annotations

import html
import re
import zlib
from dataclasses import dataclass, field

SITE = "https://lumenlamps.example"


@dataclass
class Page:
    path: str  # relative to sample_data/web/
    title: str
    body: str  # mini-markup, see markup_to_html
    section: str = "support"  # products | support | blog | docs
    template: str = "modern"  # modern | legacy | docs | amp
    charset: str = "meta"  # meta | meta-upper | http-equiv | none | windows-1252
    date: str = "2024-03-12"
    author: str = "Lumen Lamps team"
    description: str = ""
    lang: str = "en"
    footer: str = "standard"  # standard | syndicated
    price: str = ""
    related: list[tuple[str, str]] = field(default_factory=list)
    prev: tuple[str, str] | None = None
    next: tuple[str, str] | None = None

    @property
    def url(self) -> str:
        return f"{SITE}/{self.path.removesuffix('.html').removesuffix('index')}"


# ---------------------------------------------------------------------------------------------- markup

_ENTITY = re.compile(r"&(#\d+|#x[0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]*);")


def escape_text(text: str) -> str:
    """Escape <, > and & but leave entities written in the page source (&mdash;) alone."""
    parts, last = [], 0
    for match in _ENTITY.finditer(text):
        parts.append(html.escape(text[last : match.start()], quote=False))
        parts.append(match.group(0))
        last = match.end()
    parts.append(html.escape(text[last:], quote=False))
    return "".join(parts)


def inline(text: str) -> str:
    out = escape_text(text)
    out = re.sub(r"`([^`]+)`", r"<code>\1</code>", out)
    out = re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", out)
    out = re.sub(r"\[([^\]]+)\]\(([^)\s]+)\)", r'<a href="\2">\1</a>', out)
    return out


def markup_to_html(src: str) -> str:
    """Convert the page-body markup to HTML.

    ## / ### / #### headings, "- " and "1. " lists, "| a | b |" tables (first row = header), ```lang code
    fences, "> " quotes, "?: question || answer" FAQ accordions, "!note: ..." callouts,
    "[img: caption | src]" figures; other runs of lines are paragraphs.
    """
    out: list[str] = []
    lines = src.strip("\n").split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if not stripped:
            i += 1
            continue
        if stripped.startswith("```"):
            lang = stripped[3:].strip()
            j = i + 1
            code = []
            while j < len(lines) and not lines[j].strip().startswith("```"):
                code.append(lines[j])
                j += 1
            cls = f' class="language-{lang}"' if lang else ""
            out.append(f"<pre><code{cls}>{html.escape(chr(10).join(code), quote=False)}</code></pre>")
            i = j + 1
            continue
        if m := re.match(r"(#{2,4}) (.*)", stripped):
            level = len(m.group(1))
            slug = re.sub(r"[^a-z0-9]+", "-", m.group(2).lower()).strip("-")
            out.append(f'<h{level} id="{slug}">{inline(m.group(2))}</h{level}>')
            i += 1
            continue
        if stripped.startswith(("- ", "* ")) or re.match(r"\d+\. ", stripped):
            ordered = bool(re.match(r"\d+\. ", stripped))
            tag = "ol" if ordered else "ul"
            items = []
            while i < len(lines) and (
                (not ordered and lines[i].strip().startswith(("- ", "* ")))
                or (ordered and re.match(r"\d+\. ", lines[i].strip()))
            ):
                item = re.sub(r"^(\d+\.|-|\*) ", "", lines[i].strip())
                items.append(f"  <li>{inline(item)}</li>")
                i += 1
            out.append(f"<{tag}>\n" + "\n".join(items) + f"\n</{tag}>")
            continue
        if stripped.startswith("|"):
            rows = []
            while i < len(lines) and lines[i].strip().startswith("|"):
                rows.append([c.strip() for c in lines[i].strip().strip("|").split("|")])
                i += 1
            head = "".join(f"<th>{inline(c)}</th>" for c in rows[0])
            body = "\n".join(
                "    <tr>" + "".join(f"<td>{inline(c)}</td>" for c in row) + "</tr>" for row in rows[1:]
            )
            out.append(f"<table>\n  <thead><tr>{head}</tr></thead>\n  <tbody>\n{body}\n  </tbody>\n</table>")
            continue
        if stripped.startswith("> "):
            quote = []
            while i < len(lines) and lines[i].strip().startswith("> "):
                quote.append(lines[i].strip()[2:])
                i += 1
            out.append(f"<blockquote><p>{inline(' '.join(quote))}</p></blockquote>")
            continue
        if stripped.startswith("?: "):
            question, answer = stripped[3:].split(" || ", 1)
            out.append(
                f'<details class="faq-item">\n  <summary>{inline(question)}</summary>\n'
                f"  <p>{inline(answer)}</p>\n</details>"
            )
            i += 1
            continue
        if m := re.match(r"!(note|warning|tip): (.*)", stripped):
            kind = m.group(1)
            out.append(
                f'<div class="callout callout-{kind}"><p><strong>{kind.capitalize()}:</strong> '
                f"{inline(m.group(2))}</p></div>"
            )
            i += 1
            continue
        if m := re.match(r"\[img: (.*) \| (.*)\]", stripped):
            out.append(
                f'<figure>\n  <img src="{m.group(2)}" alt="{html.escape(m.group(1))}" loading="lazy">\n'
                f"  <figcaption>{inline(m.group(1))}</figcaption>\n</figure>"
            )
            i += 1
            continue
        para = []
        while i < len(lines) and lines[i].strip() and not _starts_block(lines[i].strip()):
            para.append(lines[i].strip())
            i += 1
        out.append(f"<p>{inline(' '.join(para))}</p>")
    return "\n".join(out)


def _starts_block(line: str) -> bool:
    return bool(
        line.startswith(("```", "- ", "* ", "|", "> ", "?: ", "[img: "))
        or re.match(r"#{2,4} |\d+\. |!(note|warning|tip): ", line)
    )


# ------------------------------------------------------------------------------------------ furniture

NAV = [
    ("Products", "/products/"),
    ("Shop", "/shop/"),
    ("Support", "/support/"),
    ("Developers", "/docs/"),
    ("Blog", "/blog/"),
    ("About us", "/about/"),
]
SUBMENU = [
    ("Smart bulbs", "/products/aurora-a19-bulb"),
    ("Desk &amp; table lamps", "/products/halo-desk-lamp"),
    ("Light strips", "/products/strip-flex-2m"),
    ("Hubs &amp; switches", "/products/lumen-hub"),
    ("Compare all products", "/products/"),
]
SECTION_NAMES = {"products": "Products", "support": "Support", "blog": "Blog", "docs": "Developers"}

ANALYTICS = """window.dataLayer = window.dataLayer || [];
function llTrack(){dataLayer.push(arguments);}
llTrack('init', 'LL-STATS-4471', {anonymizeIp: true, cookieDomain: 'lumenlamps.example'});
llTrack('pageview', {path: location.pathname, section: '%s'});
(function(){var s=document.createElement('script');s.async=true;
s.src='https://stats.lumenlamps.example/collect.js?v=3.2';document.head.appendChild(s);})();"""

CONSENT_JS = """document.addEventListener('DOMContentLoaded', function () {
  var banner = document.getElementById('%s');
  if (document.cookie.indexOf('ll_consent=') !== -1) { banner.remove(); return; }
  banner.querySelector('.accept').addEventListener('click', function () {
    document.cookie = 'll_consent=all; max-age=31536000; path=/; SameSite=Lax';
    banner.remove();
  });
});"""

STYLE = """  :root { --brand: #f4a62a; --ink: #1d1f24; --muted: #6b7280; }
  body { font-family: "Inter", system-ui, sans-serif; color: var(--ink); margin: 0; }
  .cookie-banner { position: fixed; bottom: 0; left: 0; right: 0; background: #111; color: #fff; padding: 1rem; }
  .site-header, .site-footer { background: #fafafa; }
  article h1 { font-size: 2.25rem; line-height: 1.2; }
  pre { background: #0f172a; color: #e2e8f0; padding: 1rem; overflow-x: auto; }
  table { border-collapse: collapse; } td, th { border: 1px solid #ddd; padding: .4rem .6rem; }"""

NOSCRIPT = (
    '<noscript><img src="https://stats.lumenlamps.example/pixel.gif?id=LL-STATS-4471" width="1" height="1" '
    'alt="">Some features of this site, such as the cart and the product configurator, need JavaScript. '
    "Please enable it in your browser.</noscript>"
)


def charset_tag(kind: str) -> str:
    return {
        "meta": '<meta charset="utf-8">',
        "meta-upper": '<meta charset="UTF-8">',
        "http-equiv": '<meta http-equiv="Content-Type" content="text/html; charset=UTF-8">',
        "windows-1252": '<meta http-equiv="Content-Type" content="text/html; charset=windows-1252">',
        "iso-8859-1": '<meta charset="iso-8859-1">',
        "none": "",
    }[kind]


def cookie_banner(banner_id: str = "cookie-banner") -> str:
    return f"""<div id="{banner_id}" class="cookie-banner" role="dialog" aria-label="Cookie consent">
  <p>We use cookies to keep you signed in, remember what is in your cart and understand how our site is used.
  Some cookies are set by partners who help us measure our newsletters. Read our
  <a href="/legal/cookies">cookie policy</a> to learn more.</p>
  <div class="cookie-actions">
    <button class="accept" type="button">Accept all cookies</button>
    <button class="reject" type="button">Only necessary cookies</button>
    <a class="settings" href="/legal/cookies#settings">Manage preferences</a>
  </div>
</div>"""


def modern_header() -> str:
    items = []
    for label, href in NAV:
        if label == "Products":
            sub = "".join(f'<li><a href="{h}">{t}</a></li>' for t, h in SUBMENU)
            items.append(
                f'    <li class="has-sub"><a href="{href}">{label}</a>\n      <ul class="submenu">{sub}</ul></li>'
            )
        else:
            items.append(f'    <li><a href="{href}">{label}</a></li>')
    nav = "\n".join(items)
    return f"""<header class="site-header">
  <a class="skip-link" href="#main">Skip to content</a>
  <a class="logo" href="/"><img src="/assets/img/lumen-logo.svg" alt="Lumen Lamps" width="140" height="32"></a>
  <nav class="main-nav" aria-label="Main menu">
  <ul>
{nav}
  </ul>
  </nav>
  <div class="header-tools">
    <form class="site-search" action="/search" role="search"><input type="search" name="q" placeholder="Search lamps, guides, docs"><button type="submit">Search</button></form>
    <a href="/account/login">Sign in</a> <a class="cart" href="/cart">Cart (0)</a>
  </div>
</header>"""


def breadcrumb(page: Page) -> list[tuple[str, str]]:
    crumbs = [("Home", "/"), (SECTION_NAMES.get(page.section, page.section.title()), f"/{page.section}/")]
    parts = page.path.split("/")[1:-1]
    for j, part in enumerate(parts):
        if part in ("amp", "fr"):
            continue
        crumbs.append(
            (
                part.upper() if len(part) <= 3 else part.replace("-", " ").title(),
                "/" + "/".join(page.path.split("/")[: j + 2]) + "/",
            )
        )
    return crumbs


def newsletter_section() -> str:
    return """<section class="newsletter-signup">
  <h2>Stay in the light</h2>
  <p>One email a month with lighting tips, new products and early access to sales. No spam, unsubscribe any time.</p>
  <form action="/newsletter/subscribe" method="post">
    <label for="nl-email">Email address</label>
    <input id="nl-email" type="email" name="email" placeholder="you@example.com" required>
    <label><input type="checkbox" name="consent" required> I agree to the <a href="/legal/privacy">privacy policy</a></label>
    <button type="submit">Subscribe</button>
  </form>
</section>"""


def modern_footer(kind: str = "standard") -> str:
    if kind == "syndicated":
        return """<footer class="site-footer syndicated">
  <p>This article first appeared in the Lumen Lamps newsletter. Republished with minor edits.</p>
  <p class="copyright">&copy; 2022&ndash;2024 Lumen Lamps GmbH &middot; <a href="/legal/privacy">Privacy</a> &middot; <a href="/legal/terms">Terms</a></p>
</footer>"""
    return """<footer class="site-footer">
  <div class="footer-columns">
    <div><h4>Shop</h4><ul><li><a href="/shop/bulbs">Smart bulbs</a></li><li><a href="/shop/lamps">Lamps</a></li><li><a href="/shop/strips">Light strips</a></li><li><a href="/shop/accessories">Accessories</a></li><li><a href="/shop/gift-cards">Gift cards</a></li></ul></div>
    <div><h4>Help</h4><ul><li><a href="/support/order-status">Order status</a></li><li><a href="/support/shipping">Shipping</a></li><li><a href="/support/returns-and-refunds">Returns</a></li><li><a href="/support/warranty">Warranty</a></li><li><a href="/support/contact">Contact us</a></li></ul></div>
    <div><h4>Company</h4><ul><li><a href="/about/">About Lumen Lamps</a></li><li><a href="/careers/">Careers</a></li><li><a href="/press/">Press</a></li><li><a href="/sustainability/">Sustainability</a></li></ul></div>
    <div><h4>Follow us</h4><ul class="social"><li><a href="https://social.example/lumenlamps">Mastodon</a></li><li><a href="https://video.example/lumenlamps">YouTube</a></li><li><a href="https://photos.example/lumenlamps">Instagram</a></li></ul></div>
  </div>
  <p class="copyright">&copy; 2024 Lumen Lamps GmbH. All rights reserved. Prices include VAT.</p>
  <ul class="legal-links"><li><a href="/legal/privacy">Privacy policy</a></li><li><a href="/legal/terms">Terms of sale</a></li><li><a href="/legal/imprint">Imprint</a></li><li><a href="/legal/cookies#settings">Cookie settings</a></li><li><a href="/legal/accessibility">Accessibility statement</a></li></ul>
</footer>"""


def head(page: Page, extra: str = "") -> str:
    desc = html.escape(page.description or page.title)
    return f"""<head>
{charset_tag(page.charset)}
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape_text(page.title)} | Lumen Lamps</title>
<meta name="description" content="{desc}">
<link rel="canonical" href="{page.url}">
<link rel="stylesheet" href="/assets/css/site.4f2a91.css">
<link rel="icon" href="/favicon.ico">
<style>
{STYLE}
</style>
<script>
{ANALYTICS % page.section}
</script>{extra}
</head>"""


def prev_next(page: Page, cls: str = "pager") -> str:
    links = []
    if page.prev:
        links.append(f'<a rel="prev" href="{page.prev[1]}">&larr; Previous: {page.prev[0]}</a>')
    if page.next:
        links.append(f'<a rel="next" href="{page.next[1]}">Next: {page.next[0]} &rarr;</a>')
    return f'<nav class="{cls}" aria-label="Previous and next">\n  ' + "\n  ".join(links) + "\n</nav>"


def related_list(page: Page) -> str:
    return "\n".join(f'    <li><a href="{href}">{title}</a></li>' for title, href in page.related)


def body_html(page: Page) -> str:
    return markup_to_html(page.body)


# ------------------------------------------------------------------------------------------ templates


def render_modern(page: Page) -> str:
    crumbs = breadcrumb(page) + [(page.title, "")]
    crumb_items = "".join(
        f'<li><a href="{h}">{escape_text(t)}</a></li>'
        if h
        else f'<li aria-current="page">{escape_text(t)}</li>'
        for t, h in crumbs
    )
    return f"""<!DOCTYPE html>
<html lang="{page.lang}">
{head(page)}
<body class="page-{page.section}">
{NOSCRIPT}
{cookie_banner()}
{modern_header()}
<nav class="breadcrumb" aria-label="Breadcrumb"><ol>{crumb_items}</ol></nav>
<main id="main">
<article class="content">
<h1>{escape_text(page.title)}</h1>
<p class="article-meta">Last updated {page.date} &middot; {escape_text(page.author)}</p>
{body_html(page)}
</article>
<aside class="sidebar">
  <h2>Related articles</h2>
  <ul>
{related_list(page)}
  </ul>
  <div class="promo-card"><p>Free shipping on orders over &euro;49 and 30-day returns.</p><a href="/shop/">Shop now</a></div>
</aside>
{prev_next(page)}
</main>
{newsletter_section()}
{modern_footer(page.footer)}
<script src="/assets/js/app.8c1d2e.js" defer></script>
<script>
{CONSENT_JS % "cookie-banner"}
</script>
</body>
</html>
"""


def render_legacy(page: Page) -> str:
    menu = "".join(f'<li><a href="{h}">{t}</a></li>' for t, h in NAV)
    crumbs = " &raquo; ".join(f'<a href="{h}">{escape_text(t)}</a>' for t, h in breadcrumb(page))
    recent = related_list(page)
    post_nav = []
    if page.prev:
        post_nav.append(
            f'<div class="nav-previous"><a href="{page.prev[1]}" rel="prev">&laquo; {page.prev[0]}</a></div>'
        )
    if page.next:
        post_nav.append(
            f'<div class="nav-next"><a href="{page.next[1]}" rel="next">{page.next[0]} &raquo;</a></div>'
        )
    footer = (
        '<div id="footer"><p>Copyright &copy; 2012&ndash;2024 Lumen Lamps GmbH &middot; '
        '<a href="/legal/privacy">Privacy</a> &middot; <a href="/legal/terms">Terms</a> &middot; '
        '<a href="/legal/imprint">Imprint</a> &middot; Powered by Lanternpress 4.2</p></div>'
        if page.footer == "standard"
        else '<div id="footer"><p>This post was originally published in our 2022 newsletter and is republished '
        "here with light edits.</p><p>&copy; Lumen Lamps GmbH &middot; "
        '<a href="/legal/privacy">Privacy</a></p></div>'
    )
    return f"""<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">
<html xmlns="http://www.w3.org/1999/xhtml" lang="{page.lang}">
{head(page)}
<body class="single single-post">
<div id="wrapper">
<div id="cookie-notice" class="cookie-banner">
  <span>This blog uses cookies for statistics and to remember your comment details.</span>
  <a href="#" class="accept button">Accept all cookies</a> <a href="/legal/cookies">More information</a>
</div>
<div id="header">
  <div class="logo"><a href="/blog/">The Lumen Lamps Blog</a><span class="tagline">Notes on light, homes and the people who build our lamps</span></div>
  <div class="menu"><ul>{menu}</ul></div>
</div>
<div class="breadcrumbs">{crumbs} &raquo; <span>{escape_text(page.title)}</span></div>
<div id="content" class="col-main">
  <div class="post" id="post-{zlib.crc32(page.path.encode()) % 9000 + 1000}">
    <h1 class="post-title">{escape_text(page.title)}</h1>
    <div class="post-meta">Posted by {escape_text(page.author)} on {page.date} in <a href="/blog/category/stories">Stories</a> | <a href="#comments">Comments</a></div>
    <div class="entry">
{body_html(page)}
    </div>
    <div class="share-buttons">Share this post: <a href="https://social.example/share">Mastodon</a> <a href="https://mail.example/share">Email</a> <a href="#" onclick="window.print()">Print</a></div>
    <div class="post-navigation">
      {"".join(post_nav)}
    </div>
    <div id="comments"><p class="nocomments">Comments are closed.</p></div>
  </div>
</div>
<div id="sidebar" class="col-side widget-area">
  <div class="widget widget_recent_entries"><h3>Recent posts</h3><ul>
{recent}
  </ul></div>
  <div class="widget widget_categories"><h3>Categories</h3><ul><li><a href="/blog/category/stories">Stories</a> (14)</li><li><a href="/blog/category/guides">Guides</a> (22)</li><li><a href="/blog/category/news">Company news</a> (9)</li></ul></div>
  <div class="widget widget_newsletter"><h3>Newsletter</h3><form action="/newsletter/subscribe" method="post"><input type="email" name="email" placeholder="Your email"><input type="submit" value="Sign me up"></form></div>
</div>
{footer}
</div>
{NOSCRIPT}
<script type="text/javascript">
{CONSENT_JS % "cookie-notice"}
</script>
</body>
</html>
"""


DOCS_TOC = [
    ("Getting started", [("Overview", "/docs/"), ("Quick start", "/docs/getting-started")]),
    (
        "Local API",
        [
            ("API overview (v2)", "/docs/api/v2/overview"),
            ("API overview (v1, legacy)", "/docs/api/v1/overview"),
            ("Authentication", "/docs/api/authentication"),
            ("Scenes", "/docs/api/scenes"),
            ("Webhooks", "/docs/webhooks"),
        ],
    ),
    ("Integrations", [("MQTT", "/docs/mqtt-integration"), ("Home Assistant", "/docs/home-assistant")]),
    (
        "Reference",
        [
            ("Error codes", "/docs/errors"),
            ("Changelog", "/docs/changelog"),
            ("Status page", "https://status.lumenlamps.example"),
        ],
    ),
]


def render_docs(page: Page) -> str:
    toc = "\n".join(
        f'    <li class="toc-group"><span>{group}</span><ul>'
        + "".join(f'<li><a href="{h}">{t}</a></li>' for t, h in links)
        + "</ul></li>"
        for group, links in DOCS_TOC
    )
    headings = re.findall(r"^## (.*)$", page.body, re.M)
    on_page = "".join(
        f'<li><a href="#{re.sub(r"[^a-z0-9]+", "-", h.lower()).strip("-")}">{escape_text(h)}</a></li>'
        for h in headings
    )
    crumbs = " / ".join(f'<a href="{h}">{escape_text(t)}</a>' for t, h in breadcrumb(page))
    pager = []
    if page.prev:
        pager.append(f'<a class="prev" href="{page.prev[1]}"><span>Previous</span> {page.prev[0]}</a>')
    if page.next:
        pager.append(f'<a class="next" href="{page.next[1]}"><span>Next</span> {page.next[0]}</a>')
    return f"""<!doctype html>
<html lang="{page.lang}" data-theme="light">
{head(page)}
<body class="docs">
<div class="cookie-banner" id="cc-banner" aria-live="polite">
  <p>Our developer docs use cookies to remember your theme and to count page views. <a href="/legal/cookies">Details</a></p>
  <button class="accept">Accept all cookies</button><button class="decline">Decline</button>
</div>
<header class="docs-topbar">
  <a class="logo" href="/docs/">Lumen Lamps <b>Developers</b></a>
  <nav class="topnav" aria-label="Site"><a href="/">Store</a> <a href="/docs/">Docs</a> <a href="/docs/api/v2/overview">API</a> <a href="/docs/changelog">Changelog</a> <a href="https://forum.lumenlamps.example">Community forum</a></nav>
  <div class="docs-search"><input type="search" placeholder="Search the docs (press /)"></div>
  <div class="version-switch">Version: <select><option>v2 (current)</option><option>v1</option></select></div>
</header>
<div class="docs-layout">
  <nav class="docs-sidebar" aria-label="Documentation">
  <ul>
{toc}
  </ul>
  </nav>
  <div class="docs-content" role="main">
    <div class="crumbs">{crumbs}</div>
    <h1>{escape_text(page.title)}</h1>
{body_html(page)}
    <div class="page-nav">{"".join(pager)}</div>
    <div class="feedback">Was this page helpful? <button>Yes</button> <button>No</button> <a href="https://github.example/lumenlamps/docs/edit/main/{page.path.replace(".html", ".md")}">Edit this page</a></div>
  </div>
  <aside class="on-this-page"><h2>On this page</h2><ul>{on_page}</ul></aside>
</div>
<footer class="docs-footer">
  <p>&copy; 2024 Lumen Lamps GmbH. Documentation licensed under CC BY 4.0. Code samples are MIT licensed.</p>
  <p><a href="/legal/privacy">Privacy</a> &middot; <a href="/legal/terms">Terms</a> &middot; <a href="/legal/imprint">Imprint</a> &middot; <a href="https://status.lumenlamps.example">System status</a></p>
</footer>
{NOSCRIPT}
<script>
{CONSENT_JS % "cc-banner"}
</script>
</body>
</html>
"""


def render_amp(page: Page) -> str:
    return f"""<!doctype html>
<html amp lang="{page.lang}">
<head>
<meta charset="utf-8">
<title>{escape_text(page.title)} &ndash; Lumen Lamps Blog</title>
<link rel="canonical" href="{page.url.replace("/amp/", "/")}">
<meta name="viewport" content="width=device-width">
<script async src="https://cdn.ampproject.org/v0.js"></script>
<script async custom-element="amp-consent" src="https://cdn.ampproject.org/v0/amp-consent-0.1.js"></script>
<script async custom-element="amp-analytics" src="https://cdn.ampproject.org/v0/amp-analytics-0.1.js"></script>
<style amp-boilerplate>body{{visibility:hidden}}</style><noscript><style amp-boilerplate>body{{visibility:visible}}</style></noscript>
<style amp-custom>
{STYLE}
</style>
</head>
<body>
<amp-analytics type="googleanalytics"><script type="application/json">{{"vars": {{"account": "LL-STATS-4471"}}, "triggers": {{"view": {{"on": "visible", "request": "pageview"}}}}}}</script></amp-analytics>
<amp-consent id="cookie-consent" layout="nodisplay">
  <div class="cookie-banner" id="consent-ui">We use cookies to measure how our blog is read.
    <button on="tap:cookie-consent.accept">Accept all cookies</button>
    <button on="tap:cookie-consent.reject">Reject</button>
  </div>
</amp-consent>
<header class="amp-header"><a href="/blog/">&larr; Lumen Lamps Blog</a> <a href="/">Shop</a></header>
<article>
<h1>{escape_text(page.title)}</h1>
<p class="byline">By {escape_text(page.author)} &middot; {page.date}</p>
{body_html(page)}
</article>
<footer class="amp-footer"><p>&copy; 2024 Lumen Lamps GmbH &middot; <a href="{page.url.replace("/amp/", "/")}">View the full site</a> &middot; <a href="/legal/privacy">Privacy</a></p></footer>
</body>
</html>
"""


def render_shop(page: Page) -> str:
    menu = "".join(f'<li><a href="{h}">{t}</a></li>' for t, h in NAV)
    crumbs = " / ".join(f'<a href="{h}">{escape_text(t)}</a>' for t, h in breadcrumb(page))
    related = "".join(f'<li><a href="{h}">{t}</a></li>' for t, h in page.related)
    pager = []
    if page.prev:
        pager.append(f'<a class="prev-product" href="{page.prev[1]}">&lsaquo; {page.prev[0]}</a>')
    if page.next:
        pager.append(f'<a class="next-product" href="{page.next[1]}">{page.next[0]} &rsaquo;</a>')
    return f"""<!DOCTYPE html>
<html lang="{page.lang}">
{head(page)}
<body class="product-page">
<div id="top-bar" class="promo-bar">Free shipping on orders over &euro;49 &middot; 30-day returns &middot; 3-year warranty</div>
<div id="site-header" class="header">
  <div class="logo"><a href="/"><img src="/assets/img/lumen-logo.svg" alt="Lumen Lamps"></a></div>
  <div class="navigation"><ul>{menu}</ul></div>
  <div class="header-icons"><a href="/account/login">Account</a> <a href="/wishlist">Wishlist</a> <a href="/cart">Cart (0)</a></div>
</div>
<div class="cookie-consent" id="consent-popup">
  <p>Cookies help us run the shop, remember your basket and show you relevant offers. By clicking &ldquo;Accept all
  cookies&rdquo; you agree to the use of all cookies described in our <a href="/legal/cookies">cookie policy</a>.</p>
  <button class="accept">Accept all cookies</button> <button class="customize">Customize</button>
</div>
<div class="breadcrumbs">{crumbs} / <span>{escape_text(page.title)}</span></div>
<div id="page">
  <div class="product-top">
    <div class="product-gallery"><img src="/assets/img/products/{page.path.split("/")[-1].replace(".html", "")}-1.jpg" alt="{escape_text(page.title)}"><div class="thumbs"><img src="/assets/img/thumb-1.jpg" alt=""><img src="/assets/img/thumb-2.jpg" alt=""></div></div>
    <div class="product-info">
      <h1 class="product-title">{escape_text(page.title)}</h1>
      <div class="rating">&#9733;&#9733;&#9733;&#9733;&#9734; <a href="#reviews">128 reviews</a></div>
      <div class="price-box"><span class="price">{page.price}</span> <span class="tax">incl. VAT, plus shipping</span></div>
      <form class="add-to-cart" action="/cart/add" method="post"><label>Quantity <select name="qty"><option>1</option><option>2</option><option>3</option></select></label><button type="submit">Add to cart</button></form>
      <div class="stock-info">In stock &ndash; order by 14:00 for same-day dispatch</div>
    </div>
  </div>
  <div class="product-description" id="description">
{body_html(page)}
  </div>
  <div class="related-products"><h3>Customers also bought</h3><ul>{related}</ul></div>
  <div class="product-pagination">{" ".join(pager)}</div>
</div>
<div id="newsletter-box" class="newsletter"><h3>10% off your first order</h3><p>Sign up for our newsletter and get a welcome code.</p><form action="/newsletter/subscribe" method="post"><input type="email" name="email" placeholder="Email address"><button type="submit">Sign up</button></form></div>
<div id="site-footer" class="footer">
  <div class="footer-links"><a href="/support/contact">Contact</a> | <a href="/support/shipping">Shipping</a> | <a href="/support/returns-and-refunds">Returns</a> | <a href="/support/warranty">Warranty</a> | <a href="/careers/">Careers</a></div>
  <div class="copyright">&copy; 2024 Lumen Lamps GmbH &middot; <a href="/legal/privacy">Privacy policy</a> &middot; <a href="/legal/terms">Terms of sale</a> &middot; <a href="/legal/imprint">Imprint</a></div>
</div>
{NOSCRIPT}
<script>
{CONSENT_JS % "consent-popup"}
</script>
</body>
</html>
"""


RENDERERS = {
    "modern": render_modern,
    "legacy": render_legacy,
    "docs": render_docs,
    "amp": render_amp,
    "shop": render_shop,
}


def render(page: Page) -> str:
    return RENDERERS[page.template](page)
