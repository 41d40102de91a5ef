/* Shared helpers of the public page and the dashboard (no inline scripts: CSP script-src 'self'). */
(function () {
  "use strict";

  var INSUFFICIENT = "insufficient data";
  var PALETTE = {
    blue: "#1d4ed8", orange: "#c2410c", green: "#047857", purple: "#7c3aed",
    grey: "#64748b", light: "#cbd5e1", red: "#b91c1c"
  };
  var numberFormat = new Intl.NumberFormat("en-US", { maximumFractionDigits: 1 });

  function isMissing(value) {
    return value === null || value === undefined || (typeof value === "number" && !isFinite(value));
  }

  /* A metric for display: suppressed or null values read "insufficient data", never 0. */
  function fmt(value, options) {
    options = options || {};
    if (isMissing(value) || options.suppressed) { return INSUFFICIENT; }
    if (options.percent) { return numberFormat.format(value * 100) + " %"; }
    var text = options.digits !== undefined
      ? value.toFixed(options.digits)
      : numberFormat.format(value);
    return text + (options.unit ? " " + options.unit : "");
  }

  /* Create an element with text and attributes (never innerHTML with data). */
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      if (name === "text") { node.textContent = attrs[name]; }
      else if (name === "className") { node.className = attrs[name]; }
      else { node.setAttribute(name, attrs[name]); }
    });
    (children || []).forEach(function (child) { node.appendChild(child); });
    return node;
  }

  function clear(node) { while (node.firstChild) { node.removeChild(node.firstChild); } }

  /* A table cell; null or suppressed values are marked so they never look like a zero.
     options.bar: the value's 95 % error bar (DP releases), shown as "± bar". */
  function cell(value, options) {
    var text = fmt(value, options);
    if (text !== INSUFFICIENT && options && options.bar) { text += " ± " + fmt(options.bar); }
    var td = el("td", { text: text });
    if (text === INSUFFICIENT) { td.className = "suppressed"; }
    return td;
  }

  function kpi(label, value, options) {
    var text = options && options.text !== undefined ? options.text : fmt(value, options);
    var card = el("div", { className: "kpi" + (text === INSUFFICIENT ? " kpi-suppressed" : "") }, [
      el("p", { className: "kpi-label", text: label }),
      el("p", { className: "kpi-value", text: text })
    ]);
    if (options && options.hint) { card.appendChild(el("p", { className: "kpi-hint", text: options.hint })); }
    return card;
  }

  /* GET/POST the JSON API; rejects with {status, body} on an HTTP error. */
  function api(path, options) {
    options = options || {};
    var headers = { "Accept": "application/json" };
    if (options.token) { headers.Authorization = "Bearer " + options.token; }
    return fetch(path, {
      method: options.method || "GET", headers: headers, credentials: "omit", cache: "no-store"
    }).then(function (response) {
      var type = response.headers.get("Content-Type") || "";
      var body = type.indexOf("application/json") === 0 ? response.json() : response.text();
      return body.then(function (data) {
        if (!response.ok) { throw { status: response.status, body: data }; }
        return { status: response.status, data: data, headers: response.headers };
      });
    });
  }

  function errorMessage(error) {
    if (error && error.body && error.body.message) { return error.body.message + " (HTTP " + error.status + ")"; }
    if (error && error.status) { return "request failed (HTTP " + error.status + ")"; }
    return "the API could not be reached";
  }

  var charts = {};

  /* (Re)draw a Chart.js chart on canvas #id; records its number of plotted points. */
  function drawChart(id, config) {
    var canvas = document.getElementById(id);
    if (!canvas || typeof window.Chart === "undefined") { return null; }
    if (charts[id]) { charts[id].destroy(); }
    config.options = Object.assign({
      responsive: true, maintainAspectRatio: false, animation: false,
      plugins: { legend: { position: "bottom", labels: { boxWidth: 12 } } }
    }, config.options || {});
    charts[id] = new window.Chart(canvas, config);
    var points = 0;
    config.data.datasets.forEach(function (set) {
      set.data.forEach(function (v) { if (!isMissing(v)) { points += 1; } });
    });
    canvas.setAttribute("data-points", String(points));
    return charts[id];
  }

  function setupChartDefaults() {
    if (typeof window.Chart === "undefined") { return; }
    var d = window.Chart.defaults;
    d.font.family = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif";
    d.font.size = 12;
    d.color = "#334155";
    d.borderColor = "#e2e8f0";
  }

  document.addEventListener("DOMContentLoaded", setupChartDefaults);

  window.Analytics = {
    INSUFFICIENT: INSUFFICIENT, PALETTE: PALETTE, fmt: fmt, el: el, clear: clear, cell: cell,
    kpi: kpi, api: api, errorMessage: errorMessage, drawChart: drawChart, isMissing: isMissing
  };
}());
