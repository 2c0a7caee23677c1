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

  // an action, then the job list again (and `after`, e.g. the dead letters, when it changes more than jobs)
  function act(method, url, done, after) {
    call(method, url).then((data) => { say(done(data), false); scheduleReload(); if (after) after(); })
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
    queueOptions($("#filters select[name=queue]"), Object.keys(live.queues));
  }

  // a filter's choice of queues follows the queues there are, keeping the chosen one
  function queueOptions(select, names) {
    const shown = Array.from(select.options).slice(1).map((o) => o.value);
    if (shown.join("\n") === names.join("\n")) return;
    const chosen = select.value;
    select.replaceChildren(el("option", "All queues"));
    select.options[0].value = "";
    for (const name of names) { const o = el("option", name); o.value = name; select.append(o); }
    select.value = names.includes(chosen) ? chosen : "";
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
    renderDeadCounts();
    renderUsers();
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
    row.append(title, el("td", job.state, "state"), priorityCell(job), progress,
      el("td", job.attemptsMade + "/" + job.attempts, "attempts"), el("td", job.worker, "worker"),
      el("td", job.failedReason, "error"), jobActions(job));
    return row;
  }

  // a waiting job's priority can be changed (it moves to the end of that priority's lane); others only show it
  function priorityCell(job) {
    const cell = el("td", null, "priority");
    if (job.state === "waiting") {
      const select = el("select");
      select.setAttribute("aria-label", "Priority");
      for (const name of ["high", "normal", "low"]) { const o = el("option", name); o.value = name; select.append(o); }
      select.value = job.priority;
      select.addEventListener("change", () => call("POST", "/api/queue/job/" + encodeURIComponent(job.jobId) +
        "/priority", { priority: select.value }).then((d) => { say("Priority of " + job.jobId + ": " + d.priority); scheduleReload(); })
        .catch((error) => { select.value = job.priority; say(error.message, true); }));
      cell.append(select);
    } else {
      cell.textContent = job.priority;
    }
    if (job.userId) cell.append(el("small", job.userId));
    return cell;
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
        const priority = row.querySelector(".priority");
        if (priority.querySelector("select") || event.state === "waiting") reloadNeeded = true;  // its control changes
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

  // -- dead letters ------------------------------------------------------------------------------------------------
  const dead = { queue: "", page: 1, total: null };

  function deadTotal() {
    return Object.values(live.deadLetters || {}).reduce((sum, n) => sum + n, 0);
  }

  function renderDeadLetters(page) {
    const body = $("#dead tbody");
    body.replaceChildren(...page.deadLetters.map((letter) => {
      const row = el("tr");
      row.dataset.dead = letter.jobId;
      const name = el("td", letter.title || letter.jobId, "title");
      name.title = letter.jobId;
      name.append(el("small", letter.queue));
      const who = el("td", letter.priority, "priority");
      if (letter.userId) who.append(el("small", letter.userId));
      const path = "/api/dead-letters/" + encodeURIComponent(letter.jobId);
      const actions = el("td", null, "actions");
      actions.append(button("Requeue", () => act("POST", path + "/requeue", (d) => (d.requeued ? "Requeued " :
        "Already waiting or running: ") + letter.jobId, loadDeadLetters)),
        button("Purge", () => act("DELETE", path, () => "Purged " + letter.jobId, loadDeadLetters)));
      row.append(name, el("td", letter.reason, "error"), who, el("td", letter.attemptsMade, "attempts"),
        el("td", new Date(letter.failedAt * 1000).toLocaleString()), actions);
      return row;
    }));
    const first = page.total ? page.offset + 1 : 0;
    const last = page.offset + page.deadLetters.length;
    $("#dead-page-label").textContent = page.total ? first + "–" + last + " of " + page.total : "none";
    $("#dead-prev").disabled = page.page <= 1;
    $("#dead-next").disabled = last >= page.total;
    for (const id of ["#dead-requeue-all", "#dead-purge-all"]) $(id).disabled = page.total === 0;
  }

  function loadDeadLetters() {
    const params = new URLSearchParams({ queue: dead.queue, page: String(dead.page), pageSize: String(pageSize) });
    call("GET", "/api/dead-letters?" + params).then(renderDeadLetters).catch((e) => say("Dead letters: " + e.message, true));
  }

  function renderDeadCounts() {
    $("#dead-total").textContent = String(deadTotal());
    queueOptions($("#dead-filter select"), Object.keys(live.deadLetters || {}));
    if (dead.total !== deadTotal()) { dead.total = deadTotal(); loadDeadLetters(); }
  }

  function bulkDead(verb, url, done) {
    const scope = dead.queue ? " of " + dead.queue : "";
    if (!window.confirm(verb + " every dead letter" + scope + "?")) return;
    act("POST", url + "?" + new URLSearchParams({ queue: dead.queue }), done, loadDeadLetters);
  }

  // -- schedules ------------------------------------------------------------------------------------------------
  let scheduleTimer = null;

  function lastRunText(run) {
    if (!run) return "never";
    const parts = ["queued " + run.enqueuedCount];
    if (run.purgedCount) parts.push("purged " + run.purgedCount);
    if (run.errors.length) parts.push(run.errors.length + " problem(s): " + run.errors[0]);
    return new Date(run.startedAt * 1000).toLocaleString() + " (" + run.trigger + "): " + parts.join(", ");
  }

  function renderSchedules(data) {
    const options = $("#schedule-actions");
    options.replaceChildren(...data.actions.map((a) => { const o = el("option"); o.value = a.name + (a.takesDays ? ":30" : ""); o.label = a.description; return o; }));
    $("#schedule-list tbody").replaceChildren(...data.schedules.map((s) => {
      const row = el("tr");
      row.dataset.schedule = s.name;
      const path = "/api/schedules/" + encodeURIComponent(s.name);
      const actions = el("td", null, "actions");
      actions.append(button("Run now", () => call("POST", path + "/run").then((d) => {
        say("Ran " + s.name + ": " + lastRunText(d.run), d.run.errors.length > 0); loadSchedules(); scheduleReload();
      }).catch((e) => say(e.message, true))),
        button("Remove", () => call("DELETE", path).then(() => { say("Removed schedule " + s.name); loadSchedules(); })
          .catch((e) => say(e.message, true))));
      row.append(el("td", s.name), el("td", s.cron), el("td", s.action),
        el("td", new Date(s.nextRun * 1000).toLocaleString(), "next"), el("td", lastRunText(s.lastRun), "last"), actions);
      return row;
    }));
    // the next tick is a known moment: show its run shortly after it (a timer for one event, not a polling loop)
    clearTimeout(scheduleTimer);
    const next = Math.min(...data.schedules.map((s) => s.nextRun));
    if (Number.isFinite(next)) scheduleTimer = setTimeout(loadSchedules, Math.max(1000, next * 1000 - Date.now() + 3000));
  }

  function loadSchedules() {
    call("GET", "/api/schedules").then(renderSchedules).catch((e) => say("Schedules: " + e.message, true));
  }

  // -- users ----------------------------------------------------------------------------------------------------
  function renderUsers() {
    const users = Object.entries(live.users || {});
    $("#users").hidden = users.length < 2;
    $("#user-counts tbody").replaceChildren(...users.map(([user, counts]) => {
      const row = el("tr");
      row.dataset.user = user;
      row.append(el("td", user));
      for (const key of ["waiting", "active", "scheduled", "completed", "failed"]) row.append(el("td", counts[key]));
      return row;
    }));
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
  $("#dead-filter select").addEventListener("change", (event) => { dead.queue = event.target.value; dead.page = 1; loadDeadLetters(); });
  $("#dead-prev").addEventListener("click", () => { dead.page = Math.max(1, dead.page - 1); loadDeadLetters(); });
  $("#dead-next").addEventListener("click", () => { dead.page += 1; loadDeadLetters(); });
  $("#dead-requeue-all").addEventListener("click", () => bulkDead("Requeue", "/api/dead-letters/requeue",
    (d) => "Requeued " + d.requeued + " dead letter(s)"));
  $("#dead-purge-all").addEventListener("click", () => bulkDead("Purge", "/api/dead-letters/purge",
    (d) => "Purged " + d.purged + " dead letter(s)"));
  $("#add-schedule").addEventListener("submit", (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    call("POST", "/api/schedules", { name: form.get("name"), cron: form.get("cron"), action: form.get("action") })
      .then((d) => { say("Added schedule " + d.name + ", next run " + new Date(d.nextRun * 1000).toLocaleString()); event.target.reset(); loadSchedules(); })
      .catch((e) => say(e.message, true));
  });
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
  loadSchedules();

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
