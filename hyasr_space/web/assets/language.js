// The page's language (web/scripts.py puts this in the page, with HYASR_HEADERS).
//
// Gradio 6.31 picks its locale from navigator.language among the languages it ships,
// and it ships no Armenian: an Armenian browser gets English. So this script picks the
// language itself: ?lang= in the address (the switch writes it, so a reload and a Share
// link keep it), else the first of the browser's languages that is Armenian or English,
// else English. It sets it through Gradio's own `changeLocale` (exported by its core
// module, already loaded: the import costs nothing), so the app's gr.I18n strings and
// Gradio's own words (strings.GRADIO_HY) follow, and the server is told (a cookie, below).
// Table headers, which Gradio does not
// translate, are swapped here (their title attribute keeps the English name).
(() => {
  if (window.hyasrLanguage) return;
  const SUPPORTED = ["hy", "en"];

  function chosen() {
    const asked = new URL(window.location.href).searchParams.get("lang");
    if (SUPPORTED.includes(asked)) return asked;
    for (const tag of navigator.languages || [navigator.language]) {
      const base = String(tag).toLowerCase().split("-")[0];
      if (SUPPORTED.includes(base)) return base;
    }
    return "en";
  }

  let current = chosen();

  async function core() {
    const entry = performance.getEntriesByType("resource")
      .map((e) => e.name).find((name) => /\/assets\/core-[^/]*\.js$/.test(name));
    const preload = document.querySelector('link[rel=modulepreload][href*="/core-"]');
    const url = entry || (preload && preload.href);
    return url ? import(url) : null;
  }

  // A text node's words in the page's language, by a table {English: Armenian}.
  function swap(node, table) {
    const name = node.data.trim();
    const english = Object.keys(table).find((k) => k === name || table[k] === name);
    if (!english) return;
    const shown = current === "hy" ? table[english] : english;
    if (name !== shown) node.data = node.data.replace(name, shown);
  }

  function headers() {
    const names = window.HYASR_HEADERS || {};
    for (const th of document.querySelectorAll("th[title]")) {
      const span = th.querySelector(".header");
      const english = th.getAttribute("title");
      const shown = current === "hy" && names[english] ? names[english] : english;
      if (span && span.firstChild && span.firstChild.nodeType === 3
          && span.firstChild.data !== shown) span.firstChild.data = shown;
    }
    // Toast headings: Gradio shows the message's type ("Error"), untranslated.
    // The Share button: Gradio writes its words, in English.
    const texts = [
      [".toast-title", window.HYASR_TOASTS || {}],
      ["button[id^=gradio-share-link-button]", window.HYASR_SHARE || {}],
    ];
    for (const [selector, table] of texts) {
      for (const element of document.querySelectorAll(selector)) {
        for (const node of element.childNodes) {
          if (node.nodeType === 3 && node.data.trim()) swap(node, table);
        }
      }
    }
    // Tab names: Gradio draws them once, so a switch after that renames them here; also
    // in the hidden copy Gradio measures to decide which tabs fit in the row.
    const tabs = window.HYASR_TABS || {};
    for (const tab of document.querySelectorAll("[role=tab], .tab-container button")) {
      const label = [...tab.childNodes].find((n) => n.nodeType === 3 && n.data.trim());
      if (!label) continue;
      const name = label.data.trim();
      for (const [english, armenian] of Object.entries(tabs)) {
        const shown = current === "hy" ? armenian : english;
        if ((name === english || name === armenian) && name !== shown) label.data = shown;
      }
    }
  }

  // The server writes its messages (errors, the details under a result) in the language
  // this cookie names (web/language.py); the page's address, sent as the Referer, says
  // it too once it holds ?lang=. In a Space the page is a cross-site iframe, where only a
  // partitioned cookie (https) is kept and sent.
  function tellServer() {
    const secure = window.location.protocol === "https:";
    const scope = secure ? "; SameSite=None; Secure; Partitioned" : "; SameSite=Lax";
    document.cookie = `hyasr-lang=${current}; path=/${scope}`;
  }

  async function apply(language, remember) {
    current = SUPPORTED.includes(language) ? language : "en";
    document.documentElement.lang = current;
    tellServer();
    if (remember) {
      const url = new URL(window.location.href);
      url.searchParams.set("lang", current);
      history.replaceState(history.state, "", url);
    }
    try {
      const gradio = await core();
      if (gradio && gradio.changeLocale) gradio.changeLocale(current);
    } catch (error) {
      console.warn("hyasr: could not set the language", error);
    }
    headers();
    return current;
  }

  new MutationObserver(headers).observe(document.documentElement, {
    subtree: true, childList: true, characterData: true,
  });
  window.hyasrLanguage = {
    get current() { return current; },
    set: (language) => apply(language, true),
  };
  // As early as possible: components that mount after this use the language from the
  // start (Gradio's upload area reads its words once, when it mounts).
  apply(current, false);
})();
