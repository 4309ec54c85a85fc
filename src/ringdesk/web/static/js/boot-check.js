// A classic script (not a module) that runs even when the app's modules do not: if a file of
// the app failed to arrive (a dropped connection on a poor network), the module graph never
// runs and the page would stay blank. Once the page has loaded, check that app.js started;
// reload once by itself, then say what happened and offer a Reload button.
"use strict";

(() => {
  const KEY = "ringdesk.boot-retries";
  window.addEventListener("load", () => {
    if (document.documentElement.dataset.booted === "1") {
      sessionStorage.removeItem(KEY);
      return;
    }
    const retries = Number(sessionStorage.getItem(KEY) || "0");
    if (retries < 1) {
      sessionStorage.setItem(KEY, String(retries + 1));
      location.reload();
      return;
    }
    sessionStorage.removeItem(KEY);
    const main = document.getElementById("main");
    if (!main) return;
    const title = document.createElement("h1");
    title.textContent = "Ringdesk did not finish loading";
    const text = document.createElement("p");
    text.textContent =
      "Some of its files did not arrive, so the page cannot start. Check your network connection, then reload the page.";
    const button = document.createElement("button");
    button.type = "button";
    button.className = "btn btn-primary";
    button.textContent = "Reload";
    button.addEventListener("click", () => location.reload());
    main.replaceChildren(title, text, button);
  });
})();
