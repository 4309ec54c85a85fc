// The service worker of the incoming-call notification (registered by alerts.js, scoped to this
// folder: it controls no page and caches nothing). A page can only give a notification
// buttons through a service worker; this one hands a click on the notification, or on its
// Answer button, to the Ringdesk tab, which brings itself to the front and acts.

const sw = /** @type {any} */ (self);

/**
 * Tell the Ringdesk tab what was clicked ("answer", or "" for the notification itself).
 * Kept callable by name so the browser tests can press the button the headless browser never
 * draws.
 * @param {string} action
 * @param {{callId?: string}} data
 */
async function notificationClicked(action, data) {
  const windows = await sw.clients.matchAll({ type: "window", includeUncontrolled: true });
  const tab = windows.find((/** @type {any} */ w) => w.focused) || windows[0];
  if (!tab) {
    await sw.clients.openWindow("/");
    return;
  }
  try {
    await tab.focus();
  } catch {
    // Focus is allowed only inside the click; the tab still gets the message.
  }
  tab.postMessage({ type: "ringdesk-notification", action, callId: data?.callId || "" });
}
sw.notificationClicked = notificationClicked;

sw.addEventListener("install", () => sw.skipWaiting());
sw.addEventListener("notificationclick", (/** @type {any} */ event) => {
  event.notification.close();
  event.waitUntil(notificationClicked(event.action || "", event.notification.data || {}));
});
