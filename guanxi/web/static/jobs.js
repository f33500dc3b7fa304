/* guanxi — live progress of a job page (/jobs/{id}).
 *
 * The page marks its progress card with data-job-poll="/v1/jobs/{id}" and the state it was
 * rendered in. About once a second this script reads the job (the session cookie may read /v1),
 * moves the progress bar, count and message in place, and reloads the page when the state (or a
 * cancellation request) changes, so the result, error and log are rendered by the server.
 * No inline script, nothing from other hosts (the CSP is script-src 'self').
 */
(function () {
  "use strict";

  var card = document.querySelector("[data-job-poll]");
  if (!card) {
    return;
  }
  var url = card.getAttribute("data-job-poll");
  var shownState = card.getAttribute("data-state");
  var shownCancel = card.getAttribute("data-cancel") === "true";
  var words = {};
  try {
    words = JSON.parse(card.getAttribute("data-words") || "{}");
  } catch (ignored) {
    words = {};
  }
  var lang = document.documentElement.lang || "zh-CN";
  var bar = card.querySelector("progress");
  var percentText = card.querySelector(".progress-percent");
  var countText = card.querySelector(".progress-count");
  var messageText = card.querySelector(".progress-message");
  var INTERVAL = 1000;
  var failures = 0;

  function number(value) {
    return Number(value).toLocaleString(lang);
  }

  function show(progress) {
    var done = progress.done || 0;
    var total = progress.total || 0;
    if (bar && total > 0) {
      bar.max = total;
      bar.value = Math.min(done, total);
      var pct = Math.round((100 * Math.min(done, total)) / total);
      bar.textContent = pct + "%";
      if (percentText) {
        percentText.textContent = pct + "%";
      }
      if (countText) {
        countText.textContent = number(done) + " / " + number(total);
      }
    }
    if (messageText && progress.message) {
      messageText.textContent = words[progress.message] || progress.message;
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
          return null; /* signed out or gone: stop polling, the next reload tells why */
        }
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        return response.json();
      })
      .then(function (job) {
        if (job === null) {
          return;
        }
        failures = 0;
        if (job.state !== shownState || Boolean(job.cancel_requested) !== shownCancel) {
          window.location.reload();
          return;
        }
        show(job.progress || {});
        later(INTERVAL);
      })
      .catch(function () {
        failures += 1;
        later(Math.min(INTERVAL * (1 + failures), 10000));
      });
  }

  later(INTERVAL);
})();
