/* Dashboard operations: privacy budget, ETL runs and trigger, research export with confirmation. */
(function () {
  "use strict";
  var A = window.Analytics;
  var P = A.PALETTE;
  var CONFIRMATION_THRESHOLD = 10000;

  function overlaps(w, f) { return w.window_start <= f.end && w.window_end >= f.start; }

  function budget(token, f) {
    return A.api("/api/v1/privacy/budget/" + encodeURIComponent(f.tenant), { token: token }).then(function (r) {
      var b = r.data;
      var windows = (b.windows || []).slice().reverse();  // oldest first for the chart
      var current = windows.filter(function (w) { return overlaps(w, f) && w.releases.length; });
      var shown = current.length ? current[current.length - 1] : windows.filter(function (w) { return w.releases.length; }).pop();
      var summary = document.getElementById("budget-summary");
      A.clear(summary);
      if (!shown) {
        summary.textContent = "No ε has been spent yet: the full budget of " + A.fmt(b.epsilon_budget) + " per " + b.window_kind + " remains.";
      } else {
        summary.appendChild(A.el("span", { className: "budget-figure", text: "ε spent " + A.fmt(shown.epsilon_spent, { digits: 2 }) }));
        if (shown.epsilon_reserved) {
          summary.appendChild(A.el("span", { className: "budget-figure", text: "reserved " + A.fmt(shown.epsilon_reserved, { digits: 2 }) }));
        }
        summary.appendChild(A.el("span", { className: "budget-figure budget-remaining", text: "remaining " + A.fmt(Math.max(shown.epsilon_left, 0), { digits: 2 }) }));
        summary.appendChild(A.el("span", { className: "budget-period",
          text: "of " + A.fmt(b.epsilon_budget) + " for " + shown.window + " (" + shown.window_start + " to " + shown.window_end +
            ") · " + shown.releases.length + " release(s)" + (shown.exhausted ? " · exhausted" : "") }));
      }
      A.drawChart("chart-budget", {
        type: "bar",
        data: {
          labels: windows.map(function (w) { return w.window; }),
          datasets: [
            { label: "ε spent", data: windows.map(function (w) { return w.epsilon_spent; }), backgroundColor: P.orange, stack: "eps" },
            { label: "ε reserved", data: windows.map(function (w) { return w.epsilon_reserved; }), backgroundColor: P.purple, stack: "eps" },
            { label: "ε remaining", data: windows.map(function (w) { return Math.max(w.epsilon_left, 0); }), backgroundColor: P.light, stack: "eps" }
          ]
        },
        options: { indexAxis: "y", scales: { x: { stacked: true, beginAtZero: true, max: b.epsilon_budget }, y: { stacked: true } } }
      });
    });
  }

  function jobs(token, claims) {
    return A.api("/api/v1/etl/jobs?limit=25", { token: token }).then(function (r) {
      var body = document.querySelector("#etl-table tbody");
      A.clear(body);
      r.data.jobs.forEach(function (j) {
        var status = A.el("span", { className: "badge badge-" + j.status, text: j.status });
        body.appendChild(A.el("tr", {}, [
          A.el("th", { scope: "row", text: j.job_name }),
          A.el("td", { className: "wrap-cell", text: j.period_start + " – " + j.period_end }),
          A.el("td", { text: j.privacy_level }),
          A.el("td", {}, [status]),
          A.el("td", { text: j.started_at.slice(0, 16).replace("T", " ") }),
          A.el("td", { text: A.isMissing(j.rows_written) ? "–" : A.fmt(j.rows_written) }),
          A.el("td", { text: A.isMissing(j.epsilon_charged) ? "–" : A.fmt(j.epsilon_charged, { digits: 2 }) })
        ]));
      });
      if (!r.data.jobs.length) {
        body.appendChild(A.el("tr", {}, [A.el("td", { colspan: "7", className: "empty-note", text: "No runs recorded yet." })]));
      }
      return r.data.jobs;
    });
  }

  function trigger(token, f) {
    var status = document.getElementById("etl-status");
    status.textContent = "Submitting…";
    var query = "?privacy_level=" + encodeURIComponent(f.level) + "&start=" + f.start + "&end=" + f.end;
    return A.api("/api/v1/etl/trigger/" + encodeURIComponent(f.tenant) + query, { token: token, method: "POST" })
      .then(function (r) {
        status.textContent = "Run " + r.data.run_id + " submitted (" + r.data.privacy_level + ", " + r.data.start + " to " + r.data.end + ").";
      }, function (error) {
        status.textContent = "Not started: " + A.errorMessage(error) + ".";
      });
  }

  /* Export: always a review step; above 10,000 rows the API asks for confirmed=1 and we ask again. */
  var pending = null;

  function exportQuery(p, confirmed) {
    return "?start=" + p.start + "&end=" + p.end + "&format=" + p.format + "&reason=" + encodeURIComponent(p.reason) +
      "&tenant_id=" + encodeURIComponent(p.tenant) + "&privacy_level=" + encodeURIComponent(p.level) +
      (confirmed ? "&confirmed=1" : "");
  }

  function askConfirmation(text) {
    document.getElementById("export-confirm-text").textContent = text;
    document.getElementById("export-confirm").hidden = false;
    document.getElementById("export-go").focus();
  }

  function closeConfirmation() {
    document.getElementById("export-confirm").hidden = true;
  }

  function review(f) {
    var status = document.getElementById("export-status");
    var reason = document.getElementById("export-reason").value.trim();
    if (reason.length < 10) {
      status.textContent = "Give a reason of at least 10 characters: it is recorded in the export log.";
      document.getElementById("export-reason").focus();
      return;
    }
    pending = {
      dataset: document.getElementById("export-dataset").value, format: document.getElementById("export-format").value,
      reason: reason, start: f.start, end: f.end, tenant: f.tenant, level: f.level, confirmed: false
    };
    status.textContent = "";
    askConfirmation("Export " + pending.dataset + " (" + pending.format.toUpperCase() + ", " + pending.level + ") for tenant " +
      pending.tenant + " from " + pending.start + " to " + pending.end + "? The export and its reason are logged.");
  }

  function download(p, text, type) {
    var blob = new Blob([text], { type: type });
    var link = A.el("a", { href: URL.createObjectURL(blob), download: p.dataset + "-" + p.start + "-" + p.end + "." + p.format });
    document.body.appendChild(link);
    link.click();
    setTimeout(function () { URL.revokeObjectURL(link.href); link.remove(); }, 1000);
  }

  function run(token) {
    var p = pending;
    var status = document.getElementById("export-status");
    closeConfirmation();
    status.textContent = "Exporting…";
    return A.api("/api/v1/export/" + p.dataset + exportQuery(p, p.confirmed), { token: token }).then(function (r) {
      var text = typeof r.data === "string" ? r.data : JSON.stringify(r.data, null, 2);
      var rows = typeof r.data === "string" ? Math.max(r.data.trim().split("\n").length - 1, 0) : r.data.export.row_count;
      download(p, text, p.format === "csv" ? "text/csv" : "application/json");
      status.textContent = "Exported " + A.fmt(rows) + " rows.";
      pending = null;
    }, function (error) {
      if (error.status === 428 && !p.confirmed) {
        var count = error.body.details && error.body.details.row_count;
        p.confirmed = true;
        status.textContent = "";
        askConfirmation("This export has " + A.fmt(count) + " rows, above the " + A.fmt(CONFIRMATION_THRESHOLD) +
          "-row threshold. Confirm again to export them.");
        return;
      }
      status.textContent = "Export refused: " + A.errorMessage(error) + ".";
    });
  }

  A.ops = {
    budget: budget, jobs: jobs, trigger: trigger, review: review, run: run,
    cancel: function () { pending = null; closeConfirmation(); document.getElementById("export-status").textContent = "Export cancelled."; }
  };
}());
