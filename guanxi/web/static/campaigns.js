/* guanxi — the campaign pages' two live parts.
 *
 * 1. The editor (form[data-audience-count]): when the audience changes (segment chosen, ids pasted,
 *    the kind switched, or the JSON box's audience edited while it is in use) it posts the audience to
 *    /campaigns/audience-count with the session's CSRF token in X-CSRF-Token and shows {"count": n}.
 *    Only the content fields of the ticked channels are shown (all when none is ticked).
 * 2. A live campaign page ([data-campaign-poll]): about every two seconds it reads
 *    /campaigns/{key}/progress.json, moves the message and receipt counts in place, and reloads the
 *    page when the campaign's status or a wave's state changes (data-phase), so funnels are rendered
 *    by the server.
 * No inline script, nothing from other hosts (the CSP is script-src 'self').
 */
(function () {
  "use strict";

  var lang = document.documentElement.lang || "zh-CN";

  function number(value) {
    return Number(value).toLocaleString(lang);
  }

  /* ---- 1. the editor's live audience count ---- */
  var editor = document.querySelector("form[data-audience-count]");
  if (editor) {
    var countUrl = editor.getAttribute("data-audience-count");
    var shown = editor.querySelector("[data-audience-count-value]");
    var tokenField = editor.querySelector('input[name="csrf_token"]');
    var timer = null;
    var asked = 0;

    var audience = function () {
      var useJson = editor.querySelector('input[name="use_json"]');
      if (useJson && useJson.checked) {
        try {
          var whole = JSON.parse(editor.querySelector('textarea[name="definition_json"]').value || "{}");
          return whole.audience || null;
        } catch (ignored) {
          return null;
        }
      }
      var kind = editor.querySelector('input[name="audience_kind"]:checked');
      if (kind && kind.value === "customers") {
        var ids = editor
          .querySelector('textarea[name="audience_customers"]')
          .value.split(/[\s,，;；]+/)
          .filter(function (id) {
            return id.length > 0;
          });
        return ids.length ? { customers: ids } : null;
      }
      var segment = editor.querySelector('select[name="audience_segment"]').value;
      return segment ? { segment: segment } : null;
    };

    var count = function () {
      var wanted = audience();
      if (!wanted || !shown) {
        if (shown) {
          shown.textContent = "—";
        }
        return;
      }
      asked += 1;
      var mine = asked;
      shown.textContent = shown.getAttribute("data-counting");
      window
        .fetch(countUrl, {
          method: "POST",
          credentials: "same-origin",
          cache: "no-store",
          headers: {
            "Content-Type": "application/json",
            Accept: "application/json",
            "X-CSRF-Token": tokenField ? tokenField.value : "",
          },
          body: JSON.stringify(wanted),
        })
        .then(function (response) {
          return response.json().then(function (body) {
            return { ok: response.ok, body: body };
          });
        })
        .then(function (answer) {
          if (mine !== asked) {
            return; /* a newer question is on its way */
          }
          if (answer.ok) {
            shown.textContent = number(answer.body.count);
            shown.removeAttribute("title");
          } else {
            shown.textContent = shown.getAttribute("data-failed");
            shown.title = (answer.body.error && answer.body.error.message) || "";
          }
        })
        .catch(function () {
          if (mine === asked) {
            shown.textContent = shown.getAttribute("data-failed");
          }
        });
    };

    var soon = function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(count, 350);
    };

    /* Only the chosen channels' content is shown (all of it when none is chosen yet); hidden fields
       are still posted, so nothing typed is lost by unticking a channel. */
    var showChosenContent = function () {
      var chosen = {};
      var any = false;
      editor.querySelectorAll('input[name^="channel_on_"]').forEach(function (box) {
        if (box.checked) {
          chosen[box.name.slice("channel_on_".length)] = true;
          any = true;
        }
      });
      editor.querySelectorAll("fieldset[data-content-for]").forEach(function (fieldset) {
        fieldset.hidden = any && !chosen[fieldset.getAttribute("data-content-for")];
      });
    };

    editor.addEventListener("change", function (event) {
      var name = event.target && event.target.name;
      if (/^(audience_|use_json|definition_json)/.test(name || "")) {
        soon();
      }
      if (/^channel_on_/.test(name || "")) {
        showChosenContent();
      }
    });
    editor.addEventListener("input", function (event) {
      var name = event.target && event.target.name;
      if (name === "audience_customers" || name === "definition_json") {
        soon();
      }
    });
    showChosenContent();
    count();
  }

  /* ---- 2. a live campaign's progress ---- */
  var card = document.querySelector("[data-campaign-poll]");
  if (!card) {
    return;
  }
  var url = card.getAttribute("data-campaign-poll");
  var phase = card.getAttribute("data-phase");
  var INTERVAL = 2000;
  var failures = 0;

  function put(selector, value) {
    var cell = card.querySelector(selector + " .stat-value");
    if (cell) {
      cell.textContent = number(value || 0);
    }
  }

  function later(wait) {
    window.setTimeout(poll, wait);
  }

  function poll() {
    window
      .fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" }, cache: "no-store" })
      .then(function (response) {
        if (response.status === 401 || response.status === 403 || response.status === 404) {
          return null; /* signed out or gone: stop, the next reload tells why */
        }
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        return response.json();
      })
      .then(function (progress) {
        if (progress === null) {
          return;
        }
        failures = 0;
        if (progress.phase !== phase) {
          window.location.reload();
          return;
        }
        Object.keys(progress.messages || {}).forEach(function (state) {
          put('[data-message="' + state + '"]', progress.messages[state]);
        });
        Object.keys(progress.receipts || {}).forEach(function (receipt) {
          put('[data-receipt="' + receipt + '"]', progress.receipts[receipt]);
        });
        later(INTERVAL);
      })
      .catch(function () {
        failures += 1;
        later(Math.min(INTERVAL * (1 + failures), 15000));
      });
  }

  later(INTERVAL);
})();
