/* The public metrics page: platform-wide totals from GET /api/public/metrics (no token, no cookies). */
(function () {
  "use strict";
  var A = window.Analytics;
  var MASTERY_KEY = "average_mastery_score";
  var NOT_CHARTED = [MASTERY_KEY, "active_tenants"];

  function period(metrics) {
    if (!metrics.length) { return ""; }
    return metrics[0].period_start + " to " + metrics[0].period_end;
  }

  function render(data) {
    var metrics = data.metrics || [];
    var kpis = document.getElementById("public-kpis");
    A.clear(kpis);
    metrics.forEach(function (m) {
      var hint = A.isMissing(m.error_bar_95) || A.isMissing(m.metric_value)
        ? undefined : "± " + A.fmt(m.error_bar_95) + " (95 % noise interval)";
      kpis.appendChild(A.kpi(m.display_label || m.metric_key, m.metric_value, { hint: hint }));
    });
    if (!metrics.length) {
      kpis.appendChild(A.el("p", { className: "empty-note", text: "No figures have been published yet." }));
    }
    kpis.setAttribute("data-state", "ready");
    var meta = metrics.length ? "Period " + period(metrics) : "No published period yet";
    if (data.privacy_level) { meta += " · privacy level " + data.privacy_level; }
    document.getElementById("public-meta").textContent = meta;

    var charted = metrics.filter(function (m) { return NOT_CHARTED.indexOf(m.metric_key) < 0; });
    A.drawChart("public-activity-chart", {
      type: "bar",
      data: {
        labels: charted.map(function (m) {
          var label = m.display_label || m.metric_key;
          return A.isMissing(m.metric_value) ? [label, "(insufficient data)"] : label;
        }),
        datasets: [{
          label: "Total for the period",
          data: charted.map(function (m) { return A.isMissing(m.metric_value) ? null : m.metric_value; }),
          backgroundColor: A.PALETTE.blue, borderRadius: 4, maxBarThickness: 36
        }]
      },
      options: {
        indexAxis: "y",
        plugins: { legend: { display: false } },
        scales: { x: { beginAtZero: true, grid: { color: "#eef2f7" } }, y: { grid: { display: false } } }
      }
    });

    var mastery = metrics.filter(function (m) { return m.metric_key === MASTERY_KEY; })[0];
    var masteryValue = mastery ? mastery.metric_value : null;
    if (A.isMissing(masteryValue)) {
      document.getElementById("public-mastery-empty").hidden = false;
      document.getElementById("public-mastery-chart").parentNode.hidden = true;
    } else {
      A.drawChart("public-mastery-chart", {
        type: "doughnut",
        data: {
          labels: ["Average mastery", "Remaining to 100"],
          datasets: [{ data: [masteryValue, Math.max(100 - masteryValue, 0)],
                       backgroundColor: [A.PALETTE.green, "#e2e8f0"], borderWidth: 0 }]
        },
        options: { cutout: "72%", plugins: { legend: { display: false } } }
      });
      document.getElementById("public-mastery-value").textContent = A.fmt(masteryValue);
    }
  }

  function showError(error) {
    var meta = document.getElementById("public-meta");
    meta.textContent = "The figures could not be loaded: " + A.errorMessage(error) + ".";
    meta.className = "meta error";
  }

  document.addEventListener("DOMContentLoaded", function () {
    A.api("/api/public/metrics").then(function (r) { render(r.data); }, showError);
  });
}());
