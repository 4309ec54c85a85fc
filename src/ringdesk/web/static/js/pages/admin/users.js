// Users: who can log in, as admin or agent.

import { api } from "../../api.js";
import { field, h, select } from "../../dom.js";
import { openDialog } from "../../ui/dialog.js";
import * as ui from "../../ui/form.js";
import { table } from "../../ui/table.js";
import * as state from "../../state.js";
import { adminShell } from "./shell.js";

/** @typedef {import("../../types.js").AdminUser} User */
/** @typedef {import("../../ui/form.js").SaveStatus} SaveStatus */

/** @type {Array<[string, string]>} */
const ROLES = [
  ["agent", "Agent"],
  ["supervisor", "Supervisor"],
  ["admin", "Admin"],
];

/** @param {HTMLElement} main */
export async function usersView(main) {
  const content = adminShell(main, "/admin/users", "Users");
  const tableBox = h("div", { class: "card table-wrap" });
  const status = ui.saveStatus();
  const load = () =>
    ui.renderLoaded(
      tableBox,
      () => api.get("/api/admin/users"),
      (/** @type {User[]} */ users) => usersTable(users, load, status),
    );
  content.append(tableBox, status, newUserForm(load));
  await load();
}

/** @param {User[]} users @param {() => Promise<void>} reload @param {SaveStatus} status */
function usersTable(users, reload, status) {
  const me = state.get("me");
  return table(
    { class: "table" },
    ["Name", "Username", "Role", "Two-step sign-in", ""],
    users.map((u) =>
      h(
        "tr",
        { dataset: { user: String(u.id) } },
        h("td", null, u.name),
        h("td", { class: "mono" }, u.username),
        h(
          "td",
          null,
          h("span", { class: `badge role-${u.role}` }, ROLES.find(([key]) => key === u.role)?.[1] || u.role),
        ),
        h("td", null, u.totp_enabled ? "On" : "Off"),
        h(
          "td",
          { class: "row-actions" },
          u.totp_enabled
            ? ui.button("Reset two-step", {
                class: "btn btn-small btn-ghost",
                "aria-label": `Reset two-step sign-in of ${u.name}`,
                onclick: ui.confirmed(
                  {
                    title: "Reset two-step sign-in",
                    message:
                      `Turn off two-step sign-in for ${u.name} (a lost phone)? They are logged ` +
                      "out everywhere and log in with their password alone until they set it up " +
                      "again.",
                    confirmLabel: "Reset",
                    danger: true,
                  },
                  status.fail,
                  async () => {
                    await api.del(`/api/admin/users/${u.id}/totp`);
                    status.ok(`Two-step sign-in of ${u.name} is off.`);
                    await reload();
                  },
                ),
              })
            : null,
          ui.button("Edit", {
            class: "btn btn-small",
            "aria-label": `Edit ${u.name}`,
            onclick: () => editUser(u, reload),
          }),
          me && me.id === u.id
            ? null
            : ui.button("Delete", {
                class: "btn btn-small btn-ghost",
                "aria-label": `Delete ${u.name}`,
                onclick: ui.confirmed(
                  {
                    title: "Delete user",
                    message: `Delete ${u.name} (${u.username})? They can no longer log in.`,
                    confirmLabel: "Delete",
                    danger: true,
                  },
                  status.fail,
                  async () => {
                    await api.del(`/api/admin/users/${u.id}`);
                    status.ok(`${u.name} deleted.`);
                    await reload();
                  },
                ),
              }),
        ),
      ),
    ),
  );
}

/** @param {() => Promise<void>} reload */
function newUserForm(reload) {
  const username = ui.input("text", "username", { maxlength: 100, autocomplete: "off" });
  const name = ui.input("text", "name", { maxlength: 200 });
  const password = ui.input("password", "password", {
    maxlength: 200,
    autocomplete: "new-password",
  });
  const role = select(ROLES, "agent", { name: "role" });
  const status = ui.saveStatus();
  const form = ui.formWith(
    { class: "card settings-form" },
    async () => {
      if (!username.value.trim() || !name.value.trim() || !password.value) {
        status.fail("Username, name and password are all needed.");
        return;
      }
      await ui.saveForm(form, status.fail, async () => {
        await api.post("/api/admin/users", {
          username: username.value.trim(),
          name: name.value.trim(),
          password: password.value,
          role: role.value,
        });
        status.ok(`${name.value.trim()} added.`);
        for (const el of [username, name, password]) el.value = "";
        await reload();
      });
    },
    h("h2", { class: "card-title" }, "New user"),
    h(
      "div",
      { class: "grid-2" },
      field("Username", username),
      field("Full name", name),
      field("Password", password, "At least 10 characters; common passwords are refused."),
      field("Role", role),
    ),
    ui.formActions(ui.submitButton("Add user"), status),
  );
  return form;
}

/** @param {User} user @param {() => Promise<void>} reload */
function editUser(user, reload) {
  const d = openDialog({ title: `Edit ${user.name}` });
  const name = ui.input("text", "name", { value: user.name, maxlength: 200 });
  const role = select(ROLES, user.role, { name: "role" });
  const password = ui.input("password", "password", {
    maxlength: 200,
    autocomplete: "new-password",
    placeholder: "Unchanged",
  });
  const error = h("p", { class: "form-error", role: "alert" });
  const form = ui.formWith(
    {},
    async () => {
      /** @type {Record<string, string>} */
      const changes = {};
      if (name.value.trim() && name.value.trim() !== user.name) changes.name = name.value.trim();
      if (role.value !== user.role) changes.role = role.value;
      if (password.value) changes.password = password.value;
      await ui.saveForm(
        form,
        (text) => {
          error.textContent = text;
        },
        async () => {
          if (Object.keys(changes).length) await api.patch(`/api/admin/users/${user.id}`, changes);
          d.close();
          await reload();
        },
      );
    },
    field("Full name", name),
    field("Role", role),
    field("New password", password, "Leave empty to keep the current one."),
    error,
    h(
      "div",
      { class: "dialog-actions" },
      ui.button("Cancel", { class: "btn", onclick: () => d.close() }),
      ui.submitButton("Save"),
    ),
  );
  d.body.append(form);
  name.focus();
}
