/* Dashboard wiring: sign-in wall, report filters, and the calls to the JSON API with the bearer token. */
(function () {
  "use strict";
  var A = window.Analytics;
  var S = A.session;
  var UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
  var DAY = 86400000;

  function isoDay(date) { return date.toISOString().slice(0, 10); }

  function filters() {
    return {
      tenant: document.getElementById("tenant").value.trim().toLowerCase(),
      start: document.getElementById("start").value,
      end: document.getElementById("end").value,
      level: document.getElementById("privacy-level").value
    };
  }

  function invalid(f) {
    if (!UUID.test(f.tenant)) { return ["tenant", "Enter the tenant as a UUID."]; }
    if (!f.start) { return ["start", "Choose the first day."]; }
    if (!f.end) { return ["end", "Choose the last day."]; }
    if (f.end < f.start) { return ["end", "The last day is before the first day."]; }
    return null;
  }

  function setStatus(text, isError) {
    var status = document.getElementById("report-status");
    status.textContent = text;
    status.classList.toggle("error", Boolean(isError));
  }

  function loadReport() {
    var f = filters();
    var problem = invalid(f);
    document.querySelectorAll("#filters [aria-invalid]").forEach(function (n) { n.removeAttribute("aria-invalid"); });
    if (problem) {
      document.getElementById(problem[0]).setAttribute("aria-invalid", "true");
      setStatus(problem[1], true);
      return Promise.resolve();
    }
    setStatus("Loading…");
    var token = S.token();
    return Promise.all([A.metrics.load(token, f), A.ops.budget(token, f)]).then(function (results) {
      var m = results[0];
      var updated = m.last_updated ? " · data updated " + m.last_updated.slice(0, 16).replace("T", " ") + " UTC" : "";
      setStatus("Showing " + m.reporting_period_start + " to " + m.reporting_period_end + " at privacy level " +
        m.privacy_level + updated + ".");
      document.getElementById("dashboard-app").setAttribute("data-state", "ready");
    }, function (error) {
      if (error && error.status === 401) { S.forget(); S.showWall("Your session has ended: " + A.errorMessage(error) + "."); return; }
      setStatus("Could not load the report: " + A.errorMessage(error) + ".", true);
    });
  }

  function setupLevels() {
    return A.api("/api/v1/privacy/levels").then(function (r) {
      var select = document.getElementById("privacy-level");
      A.clear(select);
      r.data.privacy_levels.forEach(function (l) {
        select.appendChild(A.el("option", { value: l.level, text: l.level + (l.epsilon ? " (ε = " + l.epsilon + ")" : " (no noise)") }));
      });
      select.value = r.data.default_level;
      var describe = function () {
        var chosen = r.data.privacy_levels.filter(function (l) { return l.level === select.value; })[0];
        document.getElementById("level-help").textContent = chosen ? chosen.description : "";
      };
      select.addEventListener("change", describe);
      describe();
    });
  }

  function setupTenant(claims, jobs) {
    var input = document.getElementById("tenant");
    var options = document.getElementById("tenant-options");
    A.clear(options);
    if (claims.role === "root") {
      var seen = [];
      jobs.forEach(function (j) { if (j.tenant_id && seen.indexOf(j.tenant_id) < 0) { seen.push(j.tenant_id); } });
      seen.forEach(function (t) { options.appendChild(A.el("option", { value: t })); });
      input.readOnly = false;
      if (!input.value && seen.length) { input.value = seen[0]; }
      document.getElementById("tenant-help").textContent = "Root: any tenant UUID (suggestions come from recent ETL runs).";
    } else {
      input.value = claims.tenant_id;
      input.readOnly = true;
      document.getElementById("tenant-help").textContent = "Tenant admins see their own tenant only.";
    }
  }

  function setupDates(jobs, tenant) {
    var ends = jobs.filter(function (j) { return j.tenant_id === tenant; }).map(function (j) { return j.period_end; }).sort();
    var end = ends.length ? new Date(ends[ends.length - 1] + "T00:00:00Z") : new Date();
    var endInput = document.getElementById("end");
    var startInput = document.getElementById("start");
    if (!endInput.value) { endInput.value = isoDay(end); }
    if (!startInput.value) { startInput.value = isoDay(new Date(Date.parse(endInput.value + "T00:00:00Z") - 30 * DAY)); }
  }

  function start() {
    var token = S.token();
    if (!token) { S.showWall(""); return; }
    var claims = S.decode(token);
    var problem = S.problem(claims);
    if (problem) { S.forget(); S.showWall(problem); return; }
    A.ops.jobs(token, claims).then(function (jobs) {
      S.showApp(claims);
      setupTenant(claims, jobs);
      setupDates(jobs, document.getElementById("tenant").value);
      return setupLevels().then(loadReport);
    }, function (error) {
      S.forget();
      S.showWall("The API refused this token: " + A.errorMessage(error) + ".");
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.getElementById("signin-form").addEventListener("submit", function (event) {
      event.preventDefault();
      var field = document.getElementById("token-input");
      var token = field.value.trim().replace(/^Bearer\s+/i, "");
      var problem = S.problem(S.decode(token));
      if (problem) { S.showWall(problem); field.focus(); return; }
      S.store(token);
      field.value = "";
      start();
    });
    document.getElementById("signout").addEventListener("click", function () {
      S.forget();
      document.getElementById("dashboard-app").removeAttribute("data-state");
      S.showWall("");
      document.getElementById("token-input").focus();
    });
    document.getElementById("filters").addEventListener("submit", function (event) {
      event.preventDefault();
      loadReport();
    });
    document.getElementById("etl-trigger").addEventListener("click", function () {
      var f = filters();
      if (invalid(f)) { loadReport(); return; }
      A.ops.trigger(S.token(), f).then(function () { return A.ops.jobs(S.token()); });
    });
    document.getElementById("etl-refresh").addEventListener("click", function () { A.ops.jobs(S.token()); });
    document.getElementById("export-form").addEventListener("submit", function (event) {
      event.preventDefault();
      var f = filters();
      if (invalid(f)) { loadReport(); return; }
      A.ops.review(f);
    });
    document.getElementById("export-go").addEventListener("click", function () { A.ops.run(S.token()); });
    document.getElementById("export-cancel").addEventListener("click", A.ops.cancel);
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && !document.getElementById("export-confirm").hidden) { A.ops.cancel(); }
    });
    start();
  });
}());
