// Client-side routing with the History API. A route is a pattern like "/tickets/:id" and a view
// function that fills the main element and may return a cleanup and a "can leave?" guard.

/**
 * @typedef {{cleanup?: () => void, canLeave?: () => boolean | Promise<boolean>,
 *   isDirty?: () => boolean}} ViewHandle
 * @typedef {(main: HTMLElement, params: Record<string, string>, query: URLSearchParams) =>
 *   (ViewHandle | void | Promise<ViewHandle | void>)} View
 */

/** @type {Array<{pattern: RegExp, keys: string[], view: View}>} */
const routes = [];
/** @type {ViewHandle} */
let current = {};
/** @type {HTMLElement | null} */
let outlet = null;
/** @type {(path: string) => void} */
let afterRoute = () => {};
let renderCount = 0;

/** @param {string} path @param {View} view */
export function route(path, view) {
  /** @type {string[]} */
  const keys = [];
  const source = path.replace(/:([a-z_]+)/g, (_, key) => {
    keys.push(key);
    return "([^/]+)";
  });
  routes.push({ pattern: new RegExp(`^${source}/?$`), keys, view });
}

/**
 * @param {HTMLElement} main where views render
 * @param {(path: string) => void} onRoute called after each render (nav highlight, focus)
 */
export function startRouter(main, onRoute) {
  outlet = main;
  afterRoute = onRoute;
  window.addEventListener("popstate", () => {
    void show(location.pathname + location.search, false);
  });
  // Links inside the app navigate without a reload.
  document.addEventListener("click", (event) => {
    const target = event.target instanceof Element ? event.target.closest("a[href]") : null;
    if (!(target instanceof HTMLAnchorElement)) return;
    if (event.defaultPrevented || event.button !== 0) return;
    if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    if (target.origin !== location.origin || target.target || target.hasAttribute("download"))
      return;
    if (target.pathname.startsWith("/static/") || target.pathname.startsWith("/api/")) return;
    event.preventDefault();
    void navigate(target.pathname + target.search);
  });
  // Unsaved work: the browser's own warning on reload/close.
  window.addEventListener("beforeunload", (event) => {
    if (current.isDirty && current.isDirty()) {
      event.preventDefault();
      event.returnValue = "";
    }
  });
  return show(location.pathname + location.search, false);
}

/**
 * Go to a path. Asks the current view first unless `force` (it keeps its own draft then).
 * @param {string} path
 * @param {{replace?: boolean, force?: boolean}} [options]
 */
export async function navigate(path, options = {}) {
  if (!options.force && current.canLeave) {
    const ok = await current.canLeave();
    if (!ok) return false;
  }
  if (options.replace) history.replaceState(null, "", path);
  else if (path !== location.pathname + location.search) history.pushState(null, "", path);
  await show(path, true);
  return true;
}

/** Re-render the current route (after login, say). */
export function refresh() {
  return show(location.pathname + location.search, false);
}

/** @param {string} path @param {boolean} moveFocus */
async function show(path, moveFocus) {
  if (!outlet) return;
  const url = new URL(path, location.origin);
  const found = match(url.pathname);
  if (current.cleanup) current.cleanup();
  current = {};
  const token = ++renderCount;
  outlet.replaceChildren();
  outlet.setAttribute("aria-busy", "true");
  try {
    const handle = found
      ? await found.view(outlet, found.params, url.searchParams)
      : notFound(outlet);
    if (token !== renderCount) {
      // A newer navigation won; this view is already gone.
      if (handle && handle.cleanup) handle.cleanup();
      return;
    }
    current = handle || {};
  } finally {
    if (token === renderCount) outlet.removeAttribute("aria-busy");
  }
  afterRoute(url.pathname);
  if (moveFocus) {
    // Screen readers and keyboards start at the new page's heading.
    const heading = outlet.querySelector("h1");
    if (heading instanceof HTMLElement) {
      heading.tabIndex = -1;
      heading.focus({ preventScroll: true });
    }
  }
}

/** @param {string} pathname */
function match(pathname) {
  for (const r of routes) {
    const m = r.pattern.exec(pathname);
    if (m) {
      /** @type {Record<string, string>} */
      const params = {};
      r.keys.forEach((key, i) => {
        params[key] = decodeURIComponent(m[i + 1]);
      });
      return { view: r.view, params };
    }
  }
  return null;
}

/** @param {HTMLElement} main */
function notFound(main) {
  const h1 = document.createElement("h1");
  h1.textContent = "Page not found";
  const p = document.createElement("p");
  const a = document.createElement("a");
  a.href = "/tickets";
  a.textContent = "Go to your tickets";
  p.append(a);
  main.append(h1, p);
}
