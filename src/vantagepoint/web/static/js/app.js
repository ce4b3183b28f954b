// Shared helpers: calls to the JSON API with the session cookie and CSRF header,
// error rendering, and forms/buttons that map straight onto one API call.
"use strict";

const VP = {
  csrf() {
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  },

  /** One API call; resolves to {ok, status, data} and never throws on HTTP errors. */
  async api(method, path, body) {
    const init = { method, credentials: "same-origin",
                   headers: { "X-CSRF-Token": VP.csrf(), "Accept": "application/json" } };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(path, init);
    } catch (err) {
      return { ok: false, status: 0, data: { message: `network error: ${err}` } };
    }
    const text = await response.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch { data = { message: text }; }
    return { ok: response.ok, status: response.status, data };
  },

  /** A problem list as DOM: the message, then each pointer and what is wrong there. */
  errorNode(data) {
    const box = document.createElement("div");
    box.className = "error";
    const head = document.createElement("p");
    head.textContent = (data && data.message) || "failed";
    box.append(head);
    const problems = (data && data.problems) || [];
    if (problems.length) {
      const list = document.createElement("ul");
      for (const p of problems) {
        const item = document.createElement("li");
        const where = document.createElement("code");
        where.textContent = p.pointer || "/";
        item.append(where, " ", p.message);
        list.append(item);
      }
      box.append(list);
    }
    return box;
  },

  when(epoch) {
    return new Date(epoch * 1000).toISOString().replace("T", " ").slice(0, 19);
  },

  /** Marks the page interactive (tests and bench/web.py wait for it), once. */
  ready() {
    if (document.body.dataset.ready) return;
    document.body.dataset.readyAt = String(performance.now());
    document.body.dataset.ready = "1";
  },

  /** The JSON body of a data-api form: empty fields left out, typed by data-type. */
  formBody(form) {
    const body = {};
    for (const el of form.elements) {
      if (!el.name || el.disabled || el.type === "submit") continue;
      if (el.dataset.type === "bool") { body[el.name] = el.checked; continue; }
      if (el.value === "") continue;
      if (el.dataset.split) {
        const keys = el.name.split(",");
        el.value.split(el.dataset.split).forEach((v, i) => { body[keys[i]] = v; });
      } else {
        body[el.name] = el.dataset.type === "number" ? Number(el.value) : el.value;
      }
    }
    return body;
  },

  async run(el, body) {
    const [method, path] = el.dataset.api.split(" ");
    if (el.dataset.confirm && !window.confirm(el.dataset.confirm)) return;
    const out = el.querySelector(".api-out") || el.parentElement.querySelector(".api-out");
    if (out) out.replaceChildren();
    const res = await VP.api(method, path, body);
    if (!res.ok) {
      (out || el.parentElement).append(VP.errorNode(res.data));
      return;
    }
    if (el.dataset.then === "reload") window.location.reload();
    if (el.dataset.then === "show-token" && out) {
      const secret = document.createElement("code");
      secret.id = "new-token";
      secret.textContent = res.data.token;
      out.append("new token (shown once): ", secret);
    }
  },
};

document.addEventListener("submit", (event) => {
  const form = event.target.closest("form[data-api]");
  if (!form) return;
  event.preventDefault();
  VP.run(form, VP.formBody(form));
});

document.addEventListener("click", (event) => {
  const button = event.target.closest("button[data-api]");
  if (!button || button.form && button.form.dataset.api) return;
  VP.run(button, button.dataset.body ? JSON.parse(button.dataset.body) : undefined);
});

// Pages with work to do after load mark themselves ready; the others are ready now.
document.addEventListener("DOMContentLoaded", () => {
  if (!document.querySelector("[data-wait]")) VP.ready();
});
