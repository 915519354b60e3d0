// The live lab page: plain JavaScript, no build step. The state comes from /api/state
// (polled), the countdown ticks every second from the server's clock, and every request
// carries the token of the page's URL.
"use strict";
(function () {
  const token = new URLSearchParams(window.location.search).get("token") || "";
  const root = document.getElementById("lab");
  const $ = (id) => document.getElementById(id);
  let state = JSON.parse(root.dataset.state);
  let clockOffset = 0; // server time minus this browser's time, in ms
  let busy = false;
  let ended = false;

  function api(path, method, body) {
    const init = { method: method || "GET", headers: { "X-Labrun-Token": token } };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    return fetch(path, init).then((response) =>
      response.json().then((data) => {
        if (!response.ok) throw new Error(data.error || response.statusText);
        return data;
      })
    );
  }

  function text(tag, content, className) {
    const node = document.createElement(tag);
    node.textContent = content;
    if (className) node.className = className;
    return node;
  }

  function duration(seconds) {
    if (seconds <= 0) return "expired";
    const h = Math.floor(seconds / 3600), m = Math.floor((seconds % 3600) / 60),
      s = Math.floor(seconds % 60), pad = (n) => String(n).padStart(2, "0");
    return h ? `${h}h${pad(m)}m${pad(s)}s` : `${m}m${pad(s)}s`;
  }

  function tick() {
    if (!state.live) {
      $("time-left").textContent = "ended";
      return;
    }
    const now = Date.now() + clockOffset;
    const left = Math.max(0, Math.round((Date.parse(state.expires_at) - now) / 1000));
    $("time-left").textContent = duration(left);
    $("time-left").dataset.seconds = String(left);
    $("time-left").className = "big" + (left < 600 ? " warn" : "");
  }

  function renderTask(task) {
    const item = document.createElement("li");
    item.dataset.task = task.id;
    item.dataset.status = task.status;
    const head = document.createElement("div");
    const badge = text("span", task.status, "badge " + (task.status === "unchecked" ? "none" : task.status));
    head.append(badge, " ", text("span", task.title, "title"),
      text("span", ` ${task.earned}/${task.points}`, "muted"));
    item.append(head);
    if (task.message) item.append(text("div", task.message, "message"));
    task.hints.forEach((hint, index) => {
      item.append(text("div", `Hint ${index + 1}: ${hint}`, "hint"));
    });
    if (task.more_hints > 0 && !ended) {
      const label = task.hints.length ? "Next hint" : "Hint";
      const more = text("button", `${label} (${task.more_hints} left)`, "link");
      more.type = "button";
      more.className = "next-hint";
      more.addEventListener("click", () => act(() => api(`/api/hint/${encodeURIComponent(task.id)}`, "POST")));
      item.append(more);
    }
    return item;
  }

  function render() {
    $("cost").textContent = state.cost.text;
    $("session-status").textContent =
      `Session ${state.session} is ${state.status}; expires ${state.expires_at.replace("T", " ").replace("Z", " UTC")}.`;
    $("tasks").replaceChildren(...state.tasks.map(renderTask));
    $("score").textContent = state.score === null ? "" : `${state.score}/${state.total}`;
    $("checked-at").textContent = state.checked_at
      ? `Last check: ${state.checked_at.replace("T", " ").replace("Z", " UTC")}`
      : "Not checked yet: run the check when you are ready.";
    for (const id of ["check", "extend", "stop"]) $(id).disabled = busy || !state.live;
    tick();
  }

  function showError(error) {
    $("error").hidden = !error;
    $("error").textContent = error ? String(error.message || error) : "";
  }

  function act(request) {
    busy = true;
    render();
    showError(null);
    return request()
      .then((data) => { state = data; clockOffset = Date.parse(data.now) - Date.now(); })
      .catch(showError)
      .finally(() => { busy = false; render(); });
  }

  function showReceipt(receipt) {
    ended = true;
    state.live = false;
    state.status = receipt.ok ? "ended" : "tearing-down";
    const box = $("receipt");
    box.hidden = false;
    box.replaceChildren(
      text("h3", receipt.ok ? "Nothing of this session remains." : "Not everything was removed."),
      text("p", `Destroyed by Terraform: ${receipt.destroyed.join(", ") || "none"}`),
      text("p", `Removed by the sweep: ${receipt.swept.map((r) => r.name || r.id).join(", ") || "none"}`),
      text("p", `Still there: ${receipt.remaining.map((r) => r.name || r.id).join(", ") || "none"}`),
      text("p", `Checked: ${receipt.checked.join(", ")}`),
      text("p", "The lab page has stopped; you can close this tab.", "note")
    );
    box.className = "receipt " + (receipt.ok ? "ok" : "left-running");
    render();
  }

  $("check").addEventListener("click", () => {
    $("check").textContent = "Checking...";
    act(() => api("/api/check", "POST")).finally(() => { $("check").textContent = "Check my work"; });
  });
  $("extend").addEventListener("click", () =>
    act(() => api("/api/extend", "POST", { duration: $("extend-by").value })));
  $("stop").addEventListener("click", () => { $("stop-confirm").hidden = false; });
  $("stop-no").addEventListener("click", () => { $("stop-confirm").hidden = true; });
  $("stop-yes").addEventListener("click", () => {
    $("stop-confirm").hidden = true;
    busy = true;
    render();
    $("stop").textContent = "Stopping...";
    api("/api/stop", "POST")
      .then(showReceipt)
      .catch(showError)
      .finally(() => { busy = false; $("stop").textContent = "Stop"; render(); });
  });

  function poll() {
    if (ended || busy) return;
    api("/api/state")
      .then((data) => {
        state = data;
        clockOffset = Date.parse(data.now) - Date.now();
        if (!data.live) ended = true;
        render();
      })
      .catch(() => {
        if (!state.live) ended = true; // the server has gone with the session
      });
  }

  clockOffset = Date.parse(state.now) - Date.now();
  render();
  setInterval(tick, 1000);
  setInterval(poll, 2000);
})();
