// Boot: restore the session, draw the shell (top bar, call widget, reconnect banner), route
// pages, and dispatch the feed's messages to the widget and the pages.

import { api, getToken, setToken, setUnauthorizedHandler } from "./api.js";
import { refreshState, setAgentState, showCallFailed } from "./cti.js";
import { h, render } from "./dom.js";
import * as feed from "./feed.js";
import { loginView } from "./pages/login.js";
import { navigate, refresh, route, startRouter } from "./router.js";
import * as state from "./state.js";
import { startTicker } from "./ui/ticker.js";
import { toast } from "./ui/toast.js";
import { mountWidget, setOpen, unmountWidget } from "./widget/widget.js";

// Every module of the app arrived and ran (js/boot-check.js looks for this at the page's load).
document.documentElement.dataset.booted = "1";

const topbar = /** @type {HTMLElement} */ (document.getElementById("topbar"));
const banner = /** @type {HTMLElement} */ (document.getElementById("banner"));
const main = /** @type {HTMLElement} */ (document.getElementById("main"));
const widgetRoot = /** @type {HTMLElement} */ (document.getElementById("widget-root"));

/** Tickets the app already took the agent to, so it does so once per call. */
const shownTickets = new Set();

/** @param {any} user */
function homeOf(user) {
  if (user && user.totp_setup_required) return "/account";
  return user && (user.role === "admin" || user.role === "supervisor") ? "/board" : "/tickets";
}

/** Words for a role. @param {string} role */
function roleLabel(role) {
  return role === "admin" ? "Admin" : role === "supervisor" ? "Supervisor" : "Agent";
}

/**
 * Pages need a session; admin pages need the admin role. Without a session the login form
 * shows in place, and the address stays so the user lands there after logging in. An admin who
 * must set up two-step sign-in first (--admin-totp required) gets only the account page.
 * @param {import("./router.js").View} view
 * @param {{admin?: boolean, lead?: boolean, setup?: boolean}} [options]
 * @returns {import("./router.js").View}
 */
function guarded(view, options = {}) {
  return (outlet, params, q) => {
    const me = state.get("me");
    if (!me) return loginView(outlet, afterLogin);
    if (me.totp_setup_required && !options.setup) {
      outlet.append(
        h("h1", null, "Set up two-step sign-in"),
        h(
          "p",
          null,
          "On this server admins sign in with a code from an authenticator app as well. ",
          h("a", { href: "/account" }, "Set it up on your account page"),
          " to continue.",
        ),
      );
      return;
    }
    const lead = me.role === "admin" || me.role === "supervisor";
    if ((options.admin && me.role !== "admin") || (options.lead && !lead)) {
      outlet.append(
        h("h1", null, options.lead ? "Supervisors only" : "Admins only"),
        h(
          "p",
          null,
          options.lead ? "This page is for supervisors and admins. " : "This page is for admins. ",
          h("a", { href: homeOf(me) }, "Go to your home page."),
        ),
      );
      return;
    }
    return view(outlet, params, q);
  };
}

/** Lazy-load page modules so the login page stays light. */
const lazy =
  (/** @type {() => Promise<any>} */ load, /** @type {string} */ name) =>
  /** @type {import("./router.js").View} */ (outlet, params, q) =>
    load().then((m) => m[name](outlet, params, q));

route(
  "/",
  guarded(() => {
    void navigate(homeOf(state.get("me")), { replace: true });
  }),
);
route("/tickets", guarded(lazy(() => import("./pages/tickets.js"), "ticketsView")));
route("/tickets/:id", guarded(lazy(() => import("./pages/ticket.js"), "ticketView")));
route("/customers/:id", guarded(lazy(() => import("./pages/customer.js"), "customerView")));
route(
  "/board",
  guarded(
    lazy(() => import("./pages/board.js"), "boardView"),
    { lead: true },
  ),
);
route(
  "/admin",
  guarded(
    () => {
      void navigate("/admin/services", { replace: true });
    },
    { admin: true },
  ),
);
route(
  "/admin/services",
  guarded(
    lazy(() => import("./pages/admin/services.js"), "servicesView"),
    { admin: true },
  ),
);
route(
  "/admin/services/:id",
  guarded(
    lazy(() => import("./pages/admin/services.js"), "serviceView"),
    { admin: true },
  ),
);
route(
  "/admin/menus",
  guarded(
    lazy(() => import("./pages/admin/menus.js"), "menusView"),
    { admin: true },
  ),
);
route(
  "/admin/menus/:id",
  guarded(
    lazy(() => import("./pages/admin/menus.js"), "menuView"),
    { admin: true },
  ),
);
route(
  "/admin/cti-settings",
  guarded(
    lazy(() => import("./pages/admin/cti-settings.js"), "ctiSettingsView"),
    { admin: true },
  ),
);
route(
  "/admin/trunks",
  guarded(
    lazy(() => import("./pages/admin/trunks.js"), "trunksView"),
    { admin: true },
  ),
);
route(
  "/admin/webhooks",
  guarded(
    lazy(() => import("./pages/admin/webhooks.js"), "webhooksView"),
    { admin: true },
  ),
);
route(
  "/admin/cti-agents",
  guarded(
    lazy(() => import("./pages/admin/cti-agents.js"), "ctiAgentsView"),
    { admin: true },
  ),
);
route(
  "/admin/users",
  guarded(
    lazy(() => import("./pages/admin/users.js"), "usersView"),
    { admin: true },
  ),
);
route(
  "/account",
  guarded(
    lazy(() => import("./pages/account.js"), "accountView"),
    { setup: true },
  ),
);
// A supervisor's reports (their services), outside the admin area.
route(
  "/reports",
  guarded(
    lazy(() => import("./pages/admin/reports.js"), "reportsView"),
    { lead: true },
  ),
);
route(
  "/admin/reports",
  guarded(
    lazy(() => import("./pages/admin/reports.js"), "reportsView"),
    { admin: true },
  ),
);

/** @param {any} _user */
async function afterLogin(_user) {
  await startSession();
  const path =
    location.pathname === "/" ? homeOf(state.get("me")) : location.pathname + location.search;
  await navigate(path, { replace: true, force: true });
}

async function startSession() {
  const me = await api.get("/api/me");
  state.set("me", me);
  drawTopbar(me);
  document.body.classList.add("signed-in");
  if (me.totp_setup_required) return; // no widget, no feed until two-step sign-in is on
  // An admin with no CTI assignment supervises; everyone else takes calls from the widget.
  if (me.role === "agent" || me.cti) {
    mountWidget(widgetRoot);
    await refreshState();
  }
  const call = state.get("cti")?.call;
  if (call && call.ticket_id) shownTickets.add(String(call.ticket_id));
  feed.start();
}

async function logout() {
  try {
    await api.post("/api/auth/logout");
  } catch {
    // the token is dropped either way
  }
  endSession();
  await navigate("/", { replace: true, force: true });
}

function endSession() {
  feed.stop();
  setToken("");
  state.reset();
  setOpen(false);
  unmountWidget();
  widgetRoot.replaceChildren();
  topbar.replaceChildren();
  document.body.classList.remove("signed-in", "widget-open");
  shownTickets.clear();
}

/** @param {any} me */
function drawTopbar(me) {
  const links = [["/tickets", "Tickets"]];
  if (me.role === "admin") links.push(["/board", "Board"], ["/admin", "Admin"]);
  if (me.role === "supervisor") links.push(["/board", "Board"], ["/reports", "Reports"]);
  render(
    topbar,
    h(
      "div",
      { class: "topbar-inner" },
      h(
        "a",
        { class: "brand", href: homeOf(me) },
        h("span", { class: "brand-mark", "aria-hidden": "true" }),
        "Ringdesk",
      ),
      h(
        "nav",
        { class: "topnav", "aria-label": "Main" },
        h(
          "ul",
          null,
          links.map(([href, label]) =>
            h("li", null, h("a", { href, dataset: { nav: href } }, label)),
          ),
        ),
      ),
      h(
        "div",
        { class: "user" },
        h(
          "span",
          { class: "user-name" },
          h("span", { class: "avatar", "aria-hidden": "true" }, initials(me.name || me.username)),
          h(
            "span",
            { class: "user-text" },
            me.name || me.username,
            h("span", { class: "user-role" }, roleLabel(me.role)),
          ),
        ),
        h("a", { class: "btn btn-ghost btn-small", href: "/account" }, "Account"),
        h(
          "button",
          { type: "button", class: "btn btn-ghost btn-small", onclick: () => void logout() },
          "Log out",
        ),
      ),
    ),
  );
}

/** @param {string} name */
function initials(name) {
  return name
    .split(/\s+/)
    .filter(Boolean)
    .slice(0, 2)
    .map((p) => p[0].toUpperCase())
    .join("");
}

/** @param {string} path */
function highlightNav(path) {
  for (const a of topbar.querySelectorAll("a[data-nav]")) {
    const href = /** @type {HTMLElement} */ (a).dataset.nav || "";
    if (path === href || path.startsWith(`${href}/`)) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
}

/** @param {string} ticketId */
function goToTicket(ticketId) {
  if (shownTickets.has(ticketId)) return;
  shownTickets.add(ticketId);
  const open = /^\/tickets\/([^/]+)$/.exec(location.pathname);
  if (open && open[1] !== ticketId && localStorage.getItem(`ringdesk.draft.ticket.${open[1]}`)) {
    toast(`Your unsaved changes to ticket #${open[1]} are kept as a draft.`, "info", 8000);
  }
  // Force: the ticket page being left keeps its unsaved changes as a draft.
  void navigate(`/tickets/${ticketId}`, { force: true });
}

feed.onMessage((msg) => {
  switch (msg.type) {
    case "agent_state": {
      setAgentState(msg.data);
      const call = msg.data && msg.data.call;
      // Fallback if ticket_opened was missed: the connected call carries its ticket.
      if (call && call.ticket_id && (call.state === "talking" || call.state === "dialing")) {
        goToTicket(String(call.ticket_id));
      }
      break;
    }
    case "ticket_opened":
      if (msg.data && msg.data.id !== undefined) {
        goToTicket(String(msg.data.id));
        window.dispatchEvent(new CustomEvent("ringdesk:ticket", { detail: msg.data }));
      }
      break;
    case "ticket_updated":
      if (isNewVoicemail(msg.data)) {
        toast(`New voicemail from ${msg.data.customer_number} for ${msg.data.service_name || "your service"}`);
      }
      window.dispatchEvent(new CustomEvent("ringdesk:ticket", { detail: msg.data }));
      break;
    case "call_failed":
      if (msg.data) showCallFailed(msg.data);
      break;
    case "board":
      state.set("board", msg.data);
      break;
    case "me_changed":
      // An admin changed a service's contracts or calling numbers, or this user's permissions:
      // the widget redraws from the new profile (no reload).
      void refreshMe();
      break;
    case "resync":
      void resync();
      break;
    default:
      break;
  }
});

async function refreshMe() {
  try {
    const me = await api.get("/api/me");
    state.set("me", me);
    drawTopbar(me);
  } catch {
    // the next change or a reload brings it
  }
}

async function resync() {
  await Promise.all([refreshState(), refreshMe()]);
  const role = state.get("me")?.role;
  if ((role === "admin" || role === "supervisor") && location.pathname === "/board") {
    try {
      state.set("board", await api.get("/api/board"));
    } catch {
      // the next board message fixes it
    }
  }
}
feed.onReconnect(() => void resync());

state.subscribe("connection", (value) => {
  banner.hidden = value !== "reconnecting";
});

setUnauthorizedHandler(() => {
  if (!state.get("me")) return;
  endSession();
  toast("Your session has ended. Please log in again.", "error");
  void refresh();
});

async function boot() {
  startTicker();
  if (getToken()) {
    try {
      await startSession();
    } catch {
      endSession();
    }
  }
  await startRouter(main, highlightNav);
}

void boot();

/** Voicemail tickets already announced (each is updated again when the call ends). */
const announcedVoicemails = new Set();

/** @param {any} ticket */
function isNewVoicemail(ticket) {
  if (!ticket || ticket.agent_id != null || ticket.outcome !== "voicemail") return false;
  if (announcedVoicemails.has(ticket.id)) return false;
  announcedVoicemails.add(ticket.id);
  return true;
}
