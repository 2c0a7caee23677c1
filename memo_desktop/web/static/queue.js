// The dashboard's live part: the event stream updates counts and shown jobs; a job entering or leaving the shown
// list reloads that one page (debounced). No polling loop. Every value from the server is set with textContent,
// never as markup: titles, file names and errors are user text.
"use strict";
(function () {
  const initial = JSON.parse(document.getElementById("initial").textContent);
  const pageSize = initial.pageSize;
  const filter = { queue: "", state: "", q: "", page: 1 };
  let live = initial.live;
  let total = initial.jobs ? initial.jobs.total : 0;
  let reloadTimer = null;
  const $ = (selector) => document.querySelector(selector);

  function el(tag, text, className) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (className) node.className = className;
    return node;
  }

  function button(label, onClick) {
    const b = el("button", label);
    b.type = "button";
    b.addEventListener("click", onClick);
    return b;
  }

  function say(text, bad) {
    const message = $("#message");
    message.textContent = text;
    message.className = bad ? "bad" : "ok";
    message.hidden = false;
  }

  async function call(method, url, body) {
    const options = { method, headers: { "accept": "application/json" }, credentials: "same-origin" };
    if (body !== undefined) {
      options.headers["content-type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    const response = await fetch(url, options);
    let data = {};
    try { data = await response.json(); } catch (e) { data = { error: response.statusText }; }
    if (!response.ok) throw new Error(data.error || data.detail || response.statusText);
    return data;
  }

  function act(method, url, done) {
    call(method, url).then((data) => { say(done(data), false); scheduleReload(); })
      .catch((error) => say(error.message, true));
  }

  // -- services, counts, workers, alerts ---------------------------------------------------------------------
  function badge(id, label, state) {
    const node = $(id);
    const connected = state && state.connected;
    node.textContent = label + ": " + (connected ? "connected" : (state ? state.detail : "unknown"));
    node.className = "badge " + (connected ? "ok" : (state && state.connected === false ? "bad" : ""));
  }

  function renderCounts() {
    const body = $("#counts tbody");
    body.replaceChildren();
    for (const [name, counts] of Object.entries(live.queues)) {
      const row = el("tr");
      row.dataset.queue = name;
      row.append(el("td", name + (counts.paused ? " (paused)" : ""), "name"));
      for (const key of ["waiting", "active", "scheduled", "completed", "failed"]) {
        const cell = el("td", counts[key]);
        cell.dataset.count = key;
        row.append(cell);
      }
      const actions = el("td", null, "actions");
      const path = "/api/queue/" + encodeURIComponent(name);
      actions.append(counts.paused
        ? button("Resume", () => act("POST", path + "/resume", () => "Resumed " + name))
        : button("Pause", () => act("POST", path + "/pause", () => "Paused " + name)));
      if (counts.failed) actions.append(button("Retry failed", () => act("POST", path + "/retry-failed",
        (d) => "Retried " + d.retried + " job(s) of " + name)));
      if (counts.completed) actions.append(button("Clean completed", () => act("POST", path + "/clean",
        (d) => "Removed " + d.removed + " completed job(s) of " + name)));
      row.append(actions);
      body.append(row);
    }
    const select = $("#filters select[name=queue]");
    const names = Object.keys(live.queues);
    const shown = Array.from(select.options).slice(1).map((o) => o.value);
    if (shown.join("\n") !== names.join("\n")) {
      const chosen = select.value;
      select.replaceChildren(el("option", "All queues"));
      select.options[0].value = "";
      for (const name of names) { const o = el("option", name); o.value = name; select.append(o); }
      select.value = names.includes(chosen) ? chosen : "";
    }
  }

  function renderWorkers() {
    const body = $("#workers tbody");
    body.replaceChildren();
    for (const w of live.workers) {
      const row = el("tr");
      for (const value of [w.name, w.hostname, w.state, w.queues.join(", "), w.currentJobId || ""]) row.append(el("td", value));
      body.append(row);
    }
  }

  function renderAlerts() {
    const list = $("#alert-list");
    list.replaceChildren();
    for (const a of live.alerts) {
      list.append(el("li", "Failure rate " + Math.round(a.failureRate * 100) + " %: " + a.failures + " failed, " +
        a.completed + " completed in the last " + Math.round(a.window) + " s"));
    }
    $("#alerts").hidden = live.alerts.length === 0;
  }

  function renderLive() {
    badge("#redis-status", "Redis", live.connected ? { connected: true } : { connected: false, detail: live.error });
    badge("#store-status", "Object store", live.store);
    if (!live.connected) return;
    renderCounts();
    renderWorkers();
    renderAlerts();
  }

  function filteredTotal() {
    let sum = 0;
    for (const [name, counts] of Object.entries(live.queues)) {
      if (filter.queue && filter.queue !== name) continue;
      for (const key of ["waiting", "active", "scheduled", "completed", "failed"]) {
        if (!filter.state || filter.state === key) sum += counts[key];
      }
    }
    return sum;
  }

  // -- jobs ------------------------------------------------------------------------------------------------------
  function jobRow(job) {
    const row = el("tr");
    row.dataset.job = job.jobId;
    row.dataset.queue = job.queue;
    const title = el("td", job.title || job.jobId, "title");
    title.title = job.jobId;
    title.append(el("small", job.queue));
    const progress = el("td", null, "progress");
    const bar = el("progress");
    bar.max = 100;
    bar.value = job.progress;
    progress.append(bar, el("span", job.progress + "%"));
    row.append(title, el("td", job.state, "state"), progress,
      el("td", job.attemptsMade + "/" + job.attempts, "attempts"), el("td", job.worker, "worker"),
      el("td", job.failedReason, "error"), jobActions(job));
    return row;
  }

  function jobActions(job) {
    const cell = el("td", null, "actions");
    const path = "/api/queue/job/" + encodeURIComponent(job.jobId);
    if (job.state === "failed") cell.append(button("Retry", () => act("POST", path + "/retry", () => "Retried " + job.jobId)));
    if (job.state !== "active") cell.append(button("Remove", () => act("DELETE", path, () => "Removed " + job.jobId)));
    return cell;
  }

  function renderJobs(page) {
    const body = $("#jobs tbody");
    body.replaceChildren(...page.jobs.map(jobRow));
    total = page.total;
    const first = page.total ? (page.page - 1) * page.pageSize + 1 : 0;
    const last = Math.min(page.page * page.pageSize, page.total);
    $("#page-label").textContent = first + "–" + last + " of " + page.total;
    $("#jobs-summary").textContent = filter.q
      ? page.total + " match(es) for “" + filter.q + "” among " + page.scanned + " job(s)" +
        (page.truncated ? " (only the newest jobs of each list were searched)" : "")
      : page.total + " job(s)";
    $("#prev").disabled = page.page <= 1;
    $("#next").disabled = last >= page.total;
  }

  function reload() {
    const params = new URLSearchParams({ queue: filter.queue, state: filter.state, q: filter.q,
      page: String(filter.page), pageSize: String(pageSize) });
    call("GET", "/api/queue/jobs?" + params).then(renderJobs).catch((error) => say("Job list: " + error.message, true));
  }

  function scheduleReload() {
    clearTimeout(reloadTimer);
    reloadTimer = setTimeout(reload, 60);
  }

  function applyJobEvents(events) {
    let reloadNeeded = false;
    const now = Date.now();
    for (const event of events) {
      const row = document.querySelector('#jobs tr[data-job="' + CSS.escape(event.jobId) + '"]');
      if (!row) {
        reloadNeeded ||= (!filter.queue || filter.queue === event.queue) && (!filter.state || filter.state === event.state);
        continue;
      }
      const stateCell = row.querySelector(".state");
      if (stateCell.textContent !== event.state) {
        stateCell.textContent = event.state;
        row.querySelector(".actions").replaceWith(jobActions({ jobId: event.jobId, state: event.state }));
      }
      const progress = event.state === "completed" ? 100 : event.progress;
      row.querySelector("progress").value = progress;
      row.querySelector(".progress span").textContent = progress + "%";
      if (event.error) row.querySelector(".error").textContent = event.error;
      row.dataset.updatedAt = String(now);
      row.dataset.eventAt = String(event.timestamp);
      reloadNeeded ||= (filter.state && filter.state !== event.state) || event.state === "canceled";
    }
    if (reloadNeeded) scheduleReload();
  }

  // -- webhooks and extra sections ---------------------------------------------------------------------------
  function renderWebhooks(hooks) {
    const body = $("#webhooks tbody");
    body.replaceChildren();
    for (const hook of hooks) {
      const row = el("tr");
      row.dataset.webhook = hook.id;
      const actions = el("td", null, "actions");
      const path = "/api/webhooks/" + encodeURIComponent(hook.id);
      actions.append(button("Test", () => act("POST", path + "/test", (d) => "Test delivery: HTTP " + d.status)),
        button("Remove", () => call("DELETE", path).then(loadWebhooks).catch((e) => say(e.message, true))));
      row.append(el("td", hook.id), el("td", hook.url), el("td", hook.events.join(", ")), el("td", hook.home), actions);
      body.append(row);
    }
  }

  function loadWebhooks() {
    call("GET", "/api/webhooks").then((d) => renderWebhooks(d.webhooks)).catch((e) => say(e.message, true));
  }

  function loadSection(section) {
    call("GET", section.dataset.url).then((data) => {
      const items = data.items || [];
      const columns = items.length ? Object.keys(items[0]) : [];
      const head = el("tr");
      for (const c of columns) head.append(el("th", c));
      section.querySelector("thead").replaceChildren(head);
      section.querySelector("tbody").replaceChildren(...items.map((item) => {
        const row = el("tr");
        for (const c of columns) row.append(el("td", typeof item[c] === "object" ? JSON.stringify(item[c]) : item[c]));
        return row;
      }));
    }).catch((e) => say(e.message, true));
  }

  // -- wiring ----------------------------------------------------------------------------------------------------
  $("#filters").addEventListener("submit", (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    Object.assign(filter, { queue: form.get("queue"), state: form.get("state"), q: String(form.get("q")).trim(), page: 1 });
    reload();
  });
  for (const name of ["queue", "state"]) {
    $("#filters select[name=" + name + "]").addEventListener("change", () => $("#filters").requestSubmit());
  }
  $("#prev").addEventListener("click", () => { filter.page = Math.max(1, filter.page - 1); reload(); });
  $("#next").addEventListener("click", () => { filter.page += 1; reload(); });
  $("#add-webhook").addEventListener("submit", (event) => {
    event.preventDefault();
    const url = new FormData(event.target).get("url");
    call("POST", "/api/webhooks", { url }).then((data) => {
      const secret = $("#webhook-secret");
      secret.querySelector("code").textContent = data.secret;
      secret.hidden = false;
      event.target.reset();
      loadWebhooks();
    }).catch((e) => say(e.message, true));
  });

  renderLive();
  if (initial.jobs) renderJobs(initial.jobs);
  renderWebhooks(initial.webhooks);
  document.querySelectorAll("section.extra").forEach(loadSection);

  const stream = new EventSource("/api/queue/events");
  stream.addEventListener("open", () => { const s = $("#live-status"); s.textContent = "live"; s.className = "badge ok"; });
  stream.addEventListener("error", () => { const s = $("#live-status"); s.textContent = "reconnecting…"; s.className = "badge bad"; });
  stream.addEventListener("counts", (message) => {
    live = JSON.parse(message.data);
    const before = total;
    renderLive();
    if (live.connected && !filter.q && filteredTotal() !== before) scheduleReload();
  });
  stream.addEventListener("jobs", (message) => applyJobEvents(JSON.parse(message.data)));
})();
