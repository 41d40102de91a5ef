/* Dashboard figures: GET /api/v1/metrics/tenant/{tenant}, drawn as KPIs, charts and tables. */
(function () {
  "use strict";
  var A = window.Analytics;
  var P = A.PALETTE;

  function value(row, key) {
    return row.insufficient_data || A.isMissing(row[key]) ? null : row[key];
  }

  function kpis(m) {
    var s = m.session_metrics || {};
    var box = document.getElementById("kpis");
    A.clear(box);
    var bars = s.error_bar_95 || {};
    function hint(key) {
      return bars[key] ? "± " + A.fmt(bars[key]) + " (95 % noise interval)" : undefined;
    }
    box.appendChild(A.kpi("Active learners (peak week)", m.total_active_learners));
    box.appendChild(A.kpi("Sessions", s.total_sessions, { hint: hint("total_sessions") }));
    box.appendChild(A.kpi("Learning hours", m.total_learning_hours, { hint: hint("total_hours") }));
    box.appendChild(A.kpi("Avg session", s.avg_duration_minutes, { unit: "min" }));
    box.appendChild(A.kpi("Engagement rate", m.average_engagement_rate, { percent: true }));
    box.appendChild(A.kpi("Privacy level", null, { text: m.privacy_level, hint: "ε = " + m.epsilon }));
    box.lastChild.classList.add("kpi-text");
  }

  function weekLabel(w) { return w.iso_week + (w.insufficient_data ? " (insufficient data)" : ""); }

  function weekly(m) {
    var weeks = m.weekly_activity || [];
    var labels = weeks.map(weekLabel);
    A.drawChart("chart-sessions", {
      type: "bar",
      data: {
        labels: labels,
        datasets: [
          { type: "line", label: "Minutes per learner", data: weeks.map(function (w) { return value(w, "avg_minutes_per_learner"); }),
            borderColor: P.orange, backgroundColor: P.orange, yAxisID: "y1", spanGaps: false, tension: 0.25, order: 0 },
          { label: "Sessions per learner", data: weeks.map(function (w) { return value(w, "avg_sessions_per_learner"); }),
            backgroundColor: "#93c5fd", borderRadius: 4, maxBarThickness: 40, yAxisID: "y", order: 1 }
        ]
      },
      options: {
        interaction: { mode: "index", intersect: false },
        scales: {
          y: { beginAtZero: true, position: "left", title: { display: true, text: "sessions" } },
          y1: { beginAtZero: true, grace: "35%", position: "right", grid: { drawOnChartArea: false }, title: { display: true, text: "minutes" } }
        }
      }
    });
    A.drawChart("chart-weekly", {
      type: "bar",
      data: {
        labels: labels,
        datasets: [
          { label: "Returning", data: weeks.map(function (w) { return value(w, "returning_learners"); }), backgroundColor: P.blue, stack: "active" },
          { label: "New", data: weeks.map(function (w) { return value(w, "new_learners"); }), backgroundColor: P.green, stack: "active" },
          { label: "Churned", data: weeks.map(function (w) { return value(w, "churned_learners"); }), backgroundColor: P.orange, stack: "churn" }
        ]
      },
      options: { scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true } } }
    });
    var body = document.querySelector("#weekly-table tbody");
    A.clear(body);
    weeks.forEach(function (w) {
      var hide = { suppressed: w.insufficient_data };
      body.appendChild(A.el("tr", {}, [
        A.el("th", { scope: "row", text: w.iso_week }),
        A.cell(w.active_learners, hide), A.cell(w.new_learners, hide),
        A.cell(w.returning_learners, hide), A.cell(w.churned_learners, hide),
        A.cell(w.avg_sessions_per_learner, hide), A.cell(w.avg_minutes_per_learner, hide),
        A.cell(w.engagement_rate, { suppressed: w.insufficient_data, percent: true })
      ]));
    });
    if (!weeks.length) { body.appendChild(emptyRow(8)); }
  }

  function emptyRow(columns) {
    return A.el("tr", {}, [A.el("td", { colspan: String(columns), className: "empty-note", text: "No published data in this range." })]);
  }

  function summaries(m) {
    var body = document.querySelector("#summary-table tbody");
    A.clear(body);
    var rows = m.session_summaries || [];
    rows.forEach(function (r) {
      var bars = r.ci95 || {};
      function shown(key) { return { suppressed: r.insufficient_data, bar: bars[key] }; }
      body.appendChild(A.el("tr", {}, [
        A.el("th", { scope: "row", text: r.period_start + " to " + r.period_end }),
        A.cell(r.active_learners, shown("active_learners")), A.cell(r.sessions, shown("sessions")),
        A.cell(r.total_hours, shown("total_hours")),
        A.cell(r.avg_minutes_per_learner, shown("avg_minutes_per_learner")),
        A.cell(r.avg_session_minutes, shown("avg_session_minutes"))
      ]));
    });
    if (!rows.length) { body.appendChild(emptyRow(6)); }
  }

  function subjects(m) {
    var rows = m.top_subjects || [];
    A.drawChart("chart-mastery", {
      type: "bar",
      data: {
        labels: rows.map(function (r) { return r.subject + (r.insufficient_data ? " (insufficient data)" : ""); }),
        datasets: [{ label: "Mean mastery", data: rows.map(function (r) { return value(r, "mean_mastery"); }),
                     backgroundColor: P.purple, borderRadius: 4, maxBarThickness: 48 }]
      },
      options: { plugins: { legend: { display: false } }, scales: { y: { beginAtZero: true, max: 100 } } }
    });
    var body = document.querySelector("#mastery-table tbody");
    A.clear(body);
    rows.forEach(function (r) {
      var bars = r.ci95 || {};
      function shown(key) { return { suppressed: r.insufficient_data, bar: bars[key] }; }
      body.appendChild(A.el("tr", {}, [
        A.el("th", { scope: "row", text: r.subject }), A.cell(r.learners_assessed, shown("learners_assessed")),
        A.cell(r.mean_mastery, shown("mean_mastery")), A.cell(r.improvement_delta, shown("improvement_delta"))
      ]));
    });
    if (!rows.length) { body.appendChild(emptyRow(4)); }
  }

  function iep(m) {
    var rows = (m.iep_progress_summary || {}).categories || [];
    var label = function (r) { return r.iep_category.replace(/_/g, " "); };
    A.drawChart("chart-iep", {
      type: "bar",
      data: {
        labels: rows.map(function (r) { return label(r) + (r.insufficient_data ? " (insufficient data)" : ""); }),
        datasets: [{ label: "Mean progress (%)", data: rows.map(function (r) { return value(r, "mean_progress_pct"); }),
                     backgroundColor: P.green, borderRadius: 4, maxBarThickness: 28 }]
      },
      options: { indexAxis: "y", plugins: { legend: { display: false } }, scales: { x: { beginAtZero: true, max: 100 } } }
    });
    var body = document.querySelector("#iep-table tbody");
    A.clear(body);
    rows.forEach(function (r) {
      var hide = { suppressed: r.insufficient_data };
      body.appendChild(A.el("tr", {}, [
        A.el("th", { scope: "row", text: label(r) }), A.cell(r.learners_with_goals, hide),
        A.cell(r.mean_progress_pct, { suppressed: r.insufficient_data, unit: "%" }),
        A.cell(r.share_on_track, { suppressed: r.insufficient_data, percent: true })
      ]));
    });
    if (!rows.length) { body.appendChild(emptyRow(4)); }
  }

  function render(m) { kpis(m); summaries(m); weekly(m); subjects(m); iep(m); }

  A.metrics = {
    load: function (token, f) {
      var query = "?start=" + encodeURIComponent(f.start) + "&end=" + encodeURIComponent(f.end) +
        "&privacy_level=" + encodeURIComponent(f.level);
      return A.api("/api/v1/metrics/tenant/" + encodeURIComponent(f.tenant) + query, { token: token })
        .then(function (r) { render(r.data); return r.data; });
    }
  };
}());
