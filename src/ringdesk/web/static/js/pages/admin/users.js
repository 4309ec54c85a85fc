// Users: who can log in, as admin or agent.

import { api } from "../../api.js";
import { field, h, render, select } from "../../dom.js";
import { confirmDialog, openDialog } from "../../ui/dialog.js";
import { errorText } from "../../ui/toast.js";
import * as state from "../../state.js";
import { adminShell, markFieldErrors, saveStatus } from "./shell.js";

const ROLES = [
  ["agent", "Agent"],
  ["admin", "Admin"],
];

/** @param {HTMLElement} main */
export async function usersView(main) {
  const content = adminShell(main, "/admin/users", "Users");
  const tableBox = h("div", { class: "card table-wrap" });
  const status = saveStatus();
  async function load() {
    try {
      /** @type {any[]} */
      const users = await api.get("/api/admin/users");
      render(tableBox, usersTable(users, load, status));
    } catch (err) {
      render(tableBox, h("p", { class: "callout callout-error", role: "alert" }, errorText(err)));
    }
  }
  content.append(tableBox, status, newUserForm(load));
  await load();
}

/** @param {any[]} users @param {() => Promise<void>} reload @param {ReturnType<typeof saveStatus>} status */
function usersTable(users, reload, status) {
  const me = state.get("me");
  return h(
    "table",
    { class: "table" },
    h(
      "thead",
      null,
      h(
        "tr",
        null,
        ["Name", "Username", "Role", ""].map((t) => h("th", { scope: "col" }, t)),
      ),
    ),
    h(
      "tbody",
      null,
      users.map((u) =>
        h(
          "tr",
          { dataset: { user: String(u.id) } },
          h("td", null, u.name),
          h("td", { class: "mono" }, u.username),
          h(
            "td",
            null,
            h("span", { class: `badge role-${u.role}` }, u.role === "admin" ? "Admin" : "Agent"),
          ),
          h(
            "td",
            { class: "row-actions" },
            h(
              "button",
              {
                type: "button",
                class: "btn btn-small",
                "aria-label": `Edit ${u.name}`,
                onclick: () => editUser(u, reload),
              },
              "Edit",
            ),
            me && me.id === u.id
              ? null
              : h(
                  "button",
                  {
                    type: "button",
                    class: "btn btn-small btn-ghost",
                    "aria-label": `Delete ${u.name}`,
                    onclick: async () => {
                      const ok = await confirmDialog({
                        title: "Delete user",
                        message: `Delete ${u.name} (${u.username})? They can no longer log in.`,
                        confirmLabel: "Delete",
                        danger: true,
                      });
                      if (!ok) return;
                      try {
                        await api.del(`/api/admin/users/${u.id}`);
                        status.ok(`${u.name} deleted.`);
                        await reload();
                      } catch (err) {
                        status.fail(errorText(err));
                      }
                    },
                  },
                  "Delete",
                ),
          ),
        ),
      ),
    ),
  );
}

/** @param {() => Promise<void>} reload */
function newUserForm(reload) {
  const username = /** @type {HTMLInputElement} */ (
    h("input", { type: "text", name: "username", maxlength: 100, autocomplete: "off" })
  );
  const name = /** @type {HTMLInputElement} */ (
    h("input", { type: "text", name: "name", maxlength: 200 })
  );
  const password = /** @type {HTMLInputElement} */ (
    h("input", { type: "password", name: "password", maxlength: 200, autocomplete: "new-password" })
  );
  const role = select(
    ROLES.map(([v, l]) => [v, l]),
    "agent",
    { name: "role" },
  );
  const status = saveStatus();
  const form = h(
    "form",
    {
      class: "card settings-form",
      novalidate: true,
      onsubmit: async (/** @type {Event} */ e) => {
        e.preventDefault();
        if (!username.value.trim() || !name.value.trim() || !password.value) {
          status.fail("Username, name and password are all needed.");
          return;
        }
        try {
          await api.post("/api/admin/users", {
            username: username.value.trim(),
            name: name.value.trim(),
            password: password.value,
            role: role.value,
          });
          status.ok(`${name.value.trim()} added.`);
          for (const el of [username, name, password]) el.value = "";
          markFieldErrors(form, null);
          await reload();
        } catch (err) {
          markFieldErrors(form, err);
          status.fail(errorText(err));
        }
      },
    },
    h("h2", { class: "card-title" }, "New user"),
    h(
      "div",
      { class: "grid-2" },
      field("Username", username),
      field("Full name", name),
      field("Password", password),
      field("Role", role),
    ),
    h(
      "div",
      { class: "form-actions" },
      h("button", { type: "submit", class: "btn btn-primary" }, "Add user"),
      status,
    ),
  );
  return form;
}

/** @param {any} user @param {() => Promise<void>} reload */
function editUser(user, reload) {
  const d = openDialog({ title: `Edit ${user.name}` });
  const name = /** @type {HTMLInputElement} */ (
    h("input", { type: "text", name: "name", value: user.name, maxlength: 200 })
  );
  const role = select(
    ROLES.map(([v, l]) => [v, l]),
    user.role,
    { name: "role" },
  );
  const password = /** @type {HTMLInputElement} */ (
    h("input", {
      type: "password",
      name: "password",
      maxlength: 200,
      autocomplete: "new-password",
      placeholder: "Unchanged",
    })
  );
  const error = h("p", { class: "form-error", role: "alert" });
  const form = h(
    "form",
    {
      novalidate: true,
      onsubmit: async (/** @type {Event} */ e) => {
        e.preventDefault();
        /** @type {Record<string, string>} */
        const changes = {};
        if (name.value.trim() && name.value.trim() !== user.name) changes.name = name.value.trim();
        if (role.value !== user.role) changes.role = role.value;
        if (password.value) changes.password = password.value;
        try {
          if (Object.keys(changes).length) await api.patch(`/api/admin/users/${user.id}`, changes);
          d.close();
          await reload();
        } catch (err) {
          markFieldErrors(form, err);
          error.textContent = errorText(err);
        }
      },
    },
    field("Full name", name),
    field("Role", role),
    field("New password", password, "Leave empty to keep the current one."),
    error,
    h(
      "div",
      { class: "dialog-actions" },
      h("button", { type: "button", class: "btn", onclick: () => d.close() }, "Cancel"),
      h("button", { type: "submit", class: "btn btn-primary" }, "Save"),
    ),
  );
  d.body.append(form);
  name.focus();
}
