// The schedule form: builds the API's ScheduleCreate body; dry run shows the slots.
"use strict";

(() => {
  const form = document.getElementById("schedule-form");
  const outcome = document.getElementById("outcome");

  /** datetime-local has no zone: the form states UTC, so send it as UTC. */
  const utc = (value) => (value ? `${value.length === 16 ? value + ":00" : value}Z` : undefined);

  function body(dryRun) {
    const f = form.elements;
    const req = { scenario: f.scenario.value, mode: f.mode.value,
                  duration: Number(f.duration.value), dry_run: dryRun };
    if (f.start.value) req.start = utc(f.start.value);
    if (f.every.value) req.every = Number(f.every.value);
    if (f.until.value) req.until = utc(f.until.value);
    const choose = form.querySelector('input[name="choose"]:checked').value;
    if (choose === "list") {
      req.nodes = [...form.querySelectorAll('input[name="nodes"]:checked')].map((c) => c.value);
    } else if (choose === "filter") {
      req.filter = f.filter.value;
      if (f.count.value) req.count = Number(f.count.value);
    }
    return req;
  }

  function cell(row, value) {
    const td = document.createElement("td");
    if (value instanceof Node) td.append(value); else td.textContent = value;
    row.append(td);
  }

  function slots(data) {
    const table = document.createElement("table");
    table.id = "slots";
    table.innerHTML = "<thead><tr><th>#</th><th>start (UTC)</th><th>end</th><th>nodes</th>" +
                      "<th>execution</th></tr></thead>";
    const tbody = document.createElement("tbody");
    for (const o of data.occurrences) {
      const row = document.createElement("tr");
      cell(row, String(o.index));
      cell(row, o.start.replace("T", " ").slice(0, 19));
      cell(row, o.end.replace("T", " ").slice(0, 19));
      cell(row, o.nodes.join(", "));
      if (o.execution) {
        const a = document.createElement("a");
        a.href = `/executions/${o.execution}`;
        a.textContent = `#${o.execution}`;
        cell(row, a);
      } else cell(row, "—");
      tbody.append(row);
    }
    table.append(tbody);
    return table;
  }

  async function send(dryRun) {
    outcome.replaceChildren();
    const res = await VP.api("POST", "/api/v1/schedules", body(dryRun));
    if (!res.ok) {
      const box = VP.errorNode(res.data);
      box.id = "refusal";
      outcome.append(box);
      return;
    }
    const d = res.data;
    const head = document.createElement("p");
    head.id = dryRun ? "dry-run-result" : "booked";
    head.className = "good";
    const what = dryRun ? "Dry run: these slots are free (nothing booked yet)."
      : `Schedule #${d.id} is ${d.state}.`;
    head.textContent = `${what} ${d.occurrences.length} occurrence(s); ` +
      `node time ${Math.round(d.node_seconds)} s.`;
    outcome.append(head, slots(d));
    if (!dryRun) setTimeout(() => poll(d.id), 1000);
  }

  /** After booking: follow the schedule until its first execution exists, then link it. */
  async function poll(id) {
    const res = await VP.api("GET", `/api/v1/schedules/${id}`);
    if (!res.ok) return;
    const table = document.getElementById("slots");
    table.replaceWith(slots(res.data));
    if (!res.data.occurrences.some((o) => o.execution) && res.data.state !== "canceled") {
      setTimeout(() => poll(id), 1000);
    }
  }

  document.getElementById("dry-run").addEventListener("click", () => send(true));
  document.getElementById("book").addEventListener("click", () => send(false));
})();
