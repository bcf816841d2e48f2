// Airlock compliance UI: the time-travel control. Everything else is plain HTML;
// without JavaScript the form's "Show state" button still works.
(function () {
  "use strict";
  var form = document.getElementById("timetravel");
  if (!form) return;
  var slider = document.getElementById("tt-slider");
  var input = document.getElementById("tt-at");
  var state = document.getElementById("state");
  var pending = null;

  function toInput(ms) { return new Date(ms).toISOString(); }
  function fromInput(value) {  // ISO 8601; UTC unless a zone is given, as on the server
    var text = value.trim().replace(" ", "T");
    return Date.parse(/(Z|[+-]\d\d:?\d\d)$/i.test(text) ? text : text + "Z");
  }
  function panel() { return state.querySelector(".state"); }

  function show(ms) {
    var at = new Date(ms).toISOString();
    var params = new URLSearchParams({ at: at });
    if (form.dataset.tenant) params.set("tenant", form.dataset.tenant);
    if (pending) pending.abort();
    pending = new AbortController();
    if (panel()) panel().classList.add("loading");
    fetch(form.dataset.stateUrl + "?" + params.toString(), {
      credentials: "same-origin", signal: pending.signal, headers: { Accept: "text/html" }
    }).then(function (resp) {
      if (resp.redirected) { window.location.reload(); return null; }  // the session ended
      if (!resp.ok) throw new Error("HTTP " + resp.status);
      return resp.text();
    }).then(function (html) {
      if (html === null) return;
      state.innerHTML = html;
      var here = new URL(window.location.href);
      here.searchParams.set("at", at);
      history.replaceState(null, "", here.toString());
    }).catch(function (err) {
      if (err.name === "AbortError") return;
      if (panel()) panel().classList.remove("loading");
      var note = document.createElement("div");
      note.className = "alert alert-error";
      note.setAttribute("role", "alert");
      note.textContent = "Could not load the state at that instant (" + err.message + ").";
      state.prepend(note);
    });
  }

  function moveTo(ms) {
    slider.value = String(ms);
    input.value = toInput(ms);
    show(ms);
  }

  slider.addEventListener("input", function () { input.value = toInput(Number(slider.value)); });
  slider.addEventListener("change", function () { show(Number(slider.value)); });
  input.addEventListener("change", function () {
    var ms = fromInput(input.value);
    if (!isNaN(ms)) { slider.value = String(ms); show(ms); }
  });
  form.querySelectorAll("[data-jump]").forEach(function (button) {
    button.addEventListener("click", function () {
      moveTo(Number(button.dataset.jump === "min" ? slider.min : slider.max));
    });
  });
  form.addEventListener("submit", function (event) {
    var ms = fromInput(input.value);
    if (isNaN(ms)) return;  // let the server explain what is wrong with it
    event.preventDefault();
    moveTo(ms);
  });
})();
