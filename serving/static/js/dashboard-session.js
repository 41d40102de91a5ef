/* Dashboard sign-in: the pasted token lives in sessionStorage (this tab only), never in a cookie. */
(function () {
  "use strict";
  var A = window.Analytics;
  var KEY = "analytics.bearerToken";
  var DASHBOARD_ROLES = ["admin", "root"];

  /* The token's claims, decoded for display only: the API verifies the signature. */
  function decode(token) {
    var parts = token.split(".");
    if (parts.length !== 3) { return null; }
    try {
      var b64 = parts[1].replace(/-/g, "+").replace(/_/g, "/");
      while (b64.length % 4) { b64 += "="; }
      var claims = JSON.parse(atob(b64));
      return typeof claims === "object" && claims !== null ? claims : null;
    } catch (e) {
      return null;
    }
  }

  function stored() {
    try { return window.sessionStorage.getItem(KEY); } catch (e) { return null; }
  }

  function store(token) { window.sessionStorage.setItem(KEY, token); }

  function forget() {
    try { window.sessionStorage.removeItem(KEY); } catch (e) { /* storage disabled */ }
  }

  /* Why a token cannot open the dashboard, or null if its claims look usable. */
  function problem(claims) {
    if (!claims) { return "This is not a valid access token."; }
    if (DASHBOARD_ROLES.indexOf(claims.role) < 0) {
      return "The dashboard needs an admin or root token; this token has role '" + claims.role + "'.";
    }
    if (typeof claims.exp === "number" && claims.exp * 1000 < Date.now()) {
      return "This token has expired; mint a new one.";
    }
    return null;
  }

  function showWall(message) {
    document.getElementById("dashboard-app").hidden = true;
    document.getElementById("signin").hidden = false;
    var error = document.getElementById("signin-error");
    error.textContent = message || "";
    error.hidden = !message;
  }

  function showApp(claims) {
    document.getElementById("signin").hidden = true;
    document.getElementById("dashboard-app").hidden = false;
    var who = claims.role === "root" ? "Signed in as root (all tenants)"
      : "Signed in as tenant admin of " + claims.tenant_id;
    if (typeof claims.exp === "number") {
      who += " · token expires " + new Date(claims.exp * 1000).toISOString().slice(0, 16).replace("T", " ") + " UTC";
    }
    document.getElementById("who").textContent = who;
  }

  A.session = {
    decode: decode, stored: stored, store: store, forget: forget, problem: problem,
    showWall: showWall, showApp: showApp,
    token: function () { return stored(); },
    claims: function () { var t = stored(); return t ? decode(t) : null; }
  };
}());
